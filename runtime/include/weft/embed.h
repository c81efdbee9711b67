/* The C interface of the Weft runtime, for programs that embed a model
 * compiled with `weft build MODEL --emit=obj` (its header, from
 * `--emit=header`, includes this file and names the model's functions).
 * Link the object with libweft_runtime.a, OpenBLAS, libzip, fmt and the C++
 * standard library; examples/embed shows the whole command. */
#ifndef WEFT_EMBED_H
#define WEFT_EMBED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_model weft_model;

/* A compiled step and its manifest, with zeroed buffers for `batch`
 * examples. Null on failure (see weft_last_error). */
weft_model *weft_model_create(void (*step)(void **buffers, int64_t batch),
                              const char *manifest, int64_t batch);
/* Reads every parameter from an .npz or .safetensors file (as written by
 * `weft train --save`). Returns 0, or -1 after setting the last error. */
int weft_model_load_weights(weft_model *model, const char *path);
/* A parameter, input or output by name, or null if there is none. Float
 * buffers hold float32 values, token inputs int64 ids. */
void *weft_model_buffer(weft_model *model, const char *name);
/* The number of elements of a named buffer, or -1. */
int64_t weft_model_elements(const weft_model *model, const char *name);
/* Runs the step: reads the parameters and inputs, writes the outputs. */
void weft_model_run(weft_model *model);
void weft_model_free(weft_model *model);
/* What the last failing call of this thread said. */
const char *weft_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_EMBED_H */
