/* Embeds the character model of examples/char_lm.weft in a C program:
 * loads the weights `weft train --save` wrote, reports the model's loss on
 * the first window of the text it was trained on, then continues a prompt
 * one byte at a time, always taking the likeliest next byte.
 *
 *   generate WEIGHTS TEXT [PROMPT] [BYTES]
 *
 * The token ids of a text are the indices of its bytes among its distinct
 * bytes, in order, as `weft train` numbers them; so the program rebuilds
 * that vocabulary from TEXT. build.sh compiles and links it. */
#include "charlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PROMPT = 4096 };

typedef struct {
  unsigned char bytes[256]; /* the distinct bytes, in order */
  int64_t ids[256];         /* a byte's token id, or -1 */
  int size;
} Vocabulary;

static unsigned char *readFile(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  unsigned char *bytes = NULL;
  size_t capacity = 0;
  *length = 0;
  for (;;) {
    if (*length == capacity) {
      capacity = capacity ? 2 * capacity : 1 << 16;
      unsigned char *grown = realloc(bytes, capacity);
      if (!grown) {
        free(bytes);
        fclose(file);
        return NULL;
      }
      bytes = grown;
    }
    size_t got = fread(bytes + *length, 1, capacity - *length, file);
    if (got == 0)
      break;
    *length += got;
  }
  fclose(file);
  return bytes;
}

static void buildVocabulary(const unsigned char *text, size_t length,
                            Vocabulary *vocabulary) {
  int seen[256] = {0};
  for (size_t i = 0; i < length; ++i)
    seen[text[i]] = 1;
  vocabulary->size = 0;
  for (int byte = 0; byte < 256; ++byte) {
    vocabulary->ids[byte] = seen[byte] ? vocabulary->size : -1;
    if (seen[byte])
      vocabulary->bytes[vocabulary->size++] = (unsigned char)byte;
  }
}

static int fail(const char *what) {
  fprintf(stderr, "generate: %s\n", what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5)
    return fail("usage: generate WEIGHTS TEXT [PROMPT] [BYTES]");
  const char *prompt = argc > 3 ? argv[3] : "You ";
  int count = argc > 4 ? atoi(argv[4]) : 200;

  size_t length = 0;
  unsigned char *text = readFile(argv[2], &length);
  if (!text)
    return fail("cannot read the text");
  Vocabulary vocabulary;
  buildVocabulary(text, length, &vocabulary);

  weft_model *model = charlm_create(1);
  if (!model || weft_model_load_weights(model, argv[1]) != 0)
    return fail(weft_last_error());
  int64_t *window = weft_model_buffer(model, "text");
  const float *logits = weft_model_buffer(model, "logits");
  const float *loss = weft_model_buffer(model, "loss");
  int64_t steps = weft_model_elements(model, "text");
  int64_t classes = weft_model_elements(model, "logits") / (steps - 1);
  if (!window || !logits || !loss)
    return fail("the model lacks `text`, `logits` or `loss`");
  if (classes < vocabulary.size)
    return fail("the text has more distinct bytes than the model has ids");
  if ((int64_t)length < steps)
    return fail("the text is shorter than one window");

  /* The loss of the text's first window: `weft run` gives the same. */
  for (int64_t step = 0; step < steps; ++step)
    window[step] = vocabulary.ids[text[step]];
  weft_model_run(model);
  printf("loss of the first window: %.6f\n", *loss);

  /* Each new byte comes from the last steps - 1 bytes so far, read from a
   * fresh state; unused positions of the window hold id 0. */
  char generated[MAX_PROMPT + 1];
  size_t used = strlen(prompt) < MAX_PROMPT ? strlen(prompt) : MAX_PROMPT;
  if (used == 0)
    return fail("the prompt is empty");
  memcpy(generated, prompt, used);
  for (size_t i = 0; i < used; ++i)
    if (vocabulary.ids[(unsigned char)generated[i]] < 0)
      return fail("the prompt has a byte the text lacks");
  for (int n = 0; n < count && used < MAX_PROMPT; ++n) {
    int64_t context = (int64_t)used < steps - 1 ? (int64_t)used : steps - 1;
    const char *start = generated + used - context;
    for (int64_t step = 0; step < steps; ++step)
      window[step] =
          step < context ? vocabulary.ids[(unsigned char)start[step]] : 0;
    weft_model_run(model);
    const float *scores = logits + (context - 1) * classes;
    int best = 0;
    for (int id = 1; id < vocabulary.size; ++id)
      if (scores[id] > scores[best])
        best = id;
    generated[used++] = (char)vocabulary.bytes[best];
  }
  generated[used] = '\0';
  printf("%s\n", generated);
  weft_model_free(model);
  free(text);
  return 0;
}
