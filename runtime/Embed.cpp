// The C interface of include/weft/embed.h: a linked program with its
// manifest and the buffers of one batch size.
#include "weft/embed.h"
#include "runtime/Manifest.h"
#include "runtime/Program.h"
#include "runtime/Weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <memory>
#include <string>

struct weft_model {
  weft::runtime::Manifest manifest;
  std::unique_ptr<weft::runtime::LinkedProgram> program;
  std::unique_ptr<weft::runtime::Instance> instance;
};

namespace {

thread_local std::string lastError;

/// Sets the last error; returns `result`, for the caller to return.
template <typename Result> Result failWith(std::string message, Result result) {
  lastError = std::move(message);
  return result;
}

} // namespace

extern "C" {

weft_model *weft_model_create(void (*step)(void **, int64_t),
                              const char *manifestText, int64_t batch) {
  if (!step || !manifestText || batch <= 0)
    return failWith<weft_model *>(
        "weft_model_create needs a step, its manifest and a positive batch",
        nullptr);
  std::string error;
  std::optional<weft::runtime::Manifest> manifest =
      weft::runtime::parseManifest(manifestText, &error);
  if (!manifest)
    return failWith<weft_model *>(error, nullptr);
  auto model = std::make_unique<weft_model>();
  model->manifest = std::move(*manifest);
  model->program = std::make_unique<weft::runtime::LinkedProgram>(
      step, model->manifest.buffers, model->manifest.floatBytes);
  model->instance =
      std::make_unique<weft::runtime::Instance>(*model->program, batch);
  return model.release();
}

int weft_model_load_weights(weft_model *model, const char *path) {
  std::string error;
  std::optional<weft::runtime::NamedArrays> arrays =
      weft::runtime::readWeights(path, &error);
  if (!arrays)
    return failWith(error, -1);
  if (!weft::runtime::setParameters(*arrays, model->manifest.params, path,
                                    *model->instance, &error))
    return failWith(error, -1);
  return 0;
}

void *weft_model_buffer(weft_model *model, const char *name) {
  return model->instance->buffer(name);
}

int64_t weft_model_elements(const weft_model *model, const char *name) {
  return model->instance->elements(name);
}

void weft_model_run(weft_model *model) { model->instance->run(); }

void weft_model_free(weft_model *model) { delete model; }

const char *weft_last_error(void) { return lastError.c_str(); }

} // extern "C"
