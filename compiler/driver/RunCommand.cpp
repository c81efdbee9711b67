// `weft run`: loads parameters and inputs from .npy files, binds the model's
// sizes from their shapes, runs the forward and backward pass once, and
// writes every output and every gradient as .npy files.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Npy.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>

namespace weft::driver {

namespace fs = std::filesystem;
using runtime::NpyArray;

namespace {

/// Reads every `.npy` file of a folder, by file stem.
bool readFolder(const std::string &dir, std::map<std::string, NpyArray> &out,
                DiagnosticEngine &diags) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    diags.errorWithoutLocation(fmt::format("`{}` is not a folder", dir));
    return false;
  }
  for (const auto &entry : fs::directory_iterator(dir, error)) {
    if (entry.path().extension() != ".npy")
      continue;
    std::string problem;
    std::optional<NpyArray> array =
        runtime::readNpy(entry.path().string(), &problem);
    if (!array) {
      diags.errorWithoutLocation(problem);
      return false;
    }
    out[entry.path().stem().string()] = std::move(*array);
  }
  return true;
}

/// Copies an array into a buffer of the program's float type or int64.
void copyIn(const NpyArray &array, void *buffer, bool isInt, bool useDouble) {
  if (isInt) {
    std::vector<int64_t> values = array.toInt64s();
    std::memcpy(buffer, values.data(), values.size() * sizeof(int64_t));
  } else if (useDouble) {
    std::vector<double> values = array.toDoubles();
    std::memcpy(buffer, values.data(), values.size() * sizeof(double));
  } else {
    std::vector<float> values = array.toFloats();
    std::memcpy(buffer, values.data(), values.size() * sizeof(float));
  }
}

/// The on-disk shape of a value: [steps][batch][shape...].
std::vector<int64_t> diskShape(const ir::Type &type, int64_t batch) {
  std::vector<int64_t> shape;
  if (type.steps)
    shape.push_back(type.steps);
  if (type.batched)
    shape.push_back(batch);
  shape.insert(shape.end(), type.shape.begin(), type.shape.end());
  return shape;
}

bool writeValue(const std::string &path, const ir::Type &type,
                const void *buffer, int64_t batch, bool useDouble,
                DiagnosticEngine &diags) {
  std::vector<int64_t> shape = diskShape(type, batch);
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  NpyArray array =
      useDouble
          ? NpyArray::fromDoubles(shape, {static_cast<const double *>(buffer),
                                          static_cast<size_t>(count)})
          : NpyArray::fromFloats(shape, {static_cast<const float *>(buffer),
                                         static_cast<size_t>(count)});
  std::string problem;
  if (runtime::writeNpy(path, array, &problem))
    return true;
  diags.errorWithoutLocation(problem);
  return false;
}

/// The batch size: the batch axis of the inputs, which must all agree.
std::optional<int64_t> batchSize(const sema::ModelInfo &info,
                                 const std::map<std::string, NpyArray> &inputs,
                                 const std::string &dir,
                                 DiagnosticEngine &diags) {
  std::optional<int64_t> batch;
  std::string first;
  for (const sema::InputInfo &input : info.inputs) {
    auto found = inputs.find(input.name);
    size_t axis = input.steps ? 1 : 0;
    if (found == inputs.end() || found->second.shape.size() <= axis)
      continue;
    int64_t size = found->second.shape[axis];
    std::string path = (fs::path(dir) / (input.name + ".npy")).string();
    if (size <= 0) {
      diags.errorWithoutLocation(
          fmt::format("`{}` holds no examples: its batch axis is empty", path));
      return std::nullopt;
    }
    if (batch && *batch != size) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` has {} examples but `{}` has {}: every input needs the same "
          "batch size",
          path, size, first, *batch));
      return std::nullopt;
    }
    batch = size;
    first = path;
  }
  return batch.value_or(1);
}

/// Checks that token ids are integers below the vocabulary size.
bool checkTokens(const std::string &path, const NpyArray &array, int64_t vocab,
                 DiagnosticEngine &diags) {
  if (array.dtype != NpyArray::DType::I64) {
    diags.errorWithoutLocation(fmt::format(
        "`{}` holds token ids, which must be integers (int64)", path));
    return false;
  }
  for (int64_t id : array.toInt64s()) {
    if (id < 0 || id >= vocab) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` holds the token id {}, outside 0..{}", path, id, vocab - 1));
      return false;
    }
  }
  return true;
}

} // namespace

int runCommand(const RunOptions &options) {
  Compilation compilation;
  DiagnosticEngine &diags = *compilation.diags;
  std::map<std::string, NpyArray> params, inputs;
  if (!compilation.load(options.model) ||
      !compilation.bindSizeOptions(options.sizes) ||
      !readFolder(options.paramsDir, params, diags) ||
      !readFolder(options.inputsDir, inputs, diags))
    return 1;

  sema::ArrayShapes shapes;
  for (const auto &[name, array] : params)
    shapes.params[name] = array.shape;
  for (const auto &[name, array] : inputs)
    shapes.inputs[name] = array.shape;
  if (!sema::bindSizesFromArrays(*compilation.model, shapes, compilation.sizes,
                                 diags) ||
      !compilation.build(true))
    return 1;

  std::optional<int64_t> batch =
      batchSize(compilation.info, inputs, options.inputsDir, diags);
  if (!batch)
    return 1;

  // Every parameter and input must be given with exactly its shape.
  auto expectArray = [&](const std::map<std::string, NpyArray> &arrays,
                         const std::string &dir, const std::string &name,
                         std::vector<int64_t> shape) -> const NpyArray * {
    std::string path = (fs::path(dir) / (name + ".npy")).string();
    auto found = arrays.find(name);
    if (found == arrays.end()) {
      diags.errorWithoutLocation(fmt::format("`{}` is missing", path));
      return nullptr;
    }
    if (found->second.shape != shape) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` has shape [{}], but the model needs [{}]", path,
          fmt::join(found->second.shape, ", "), fmt::join(shape, ", ")));
      return nullptr;
    }
    return &found->second;
  };

  if (!compilation.compile(options.useDouble ? codegen::FloatType::F64
                                             : codegen::FloatType::F32))
    return 1;
  codegen::Instance instance(*compilation.executable, *batch);
  for (const sema::ParamInfo &param : compilation.info.params) {
    const NpyArray *array =
        expectArray(params, options.paramsDir, param.name, param.shape);
    if (!array)
      return 1;
    copyIn(*array, instance.buffer(param.name), false, options.useDouble);
  }
  for (const sema::InputInfo &input : compilation.info.inputs) {
    // A carried state that is not given starts at zero.
    if (!input.carriedFrom.empty() && !inputs.count(input.name))
      continue;
    ir::Type type;
    type.shape = input.shape;
    type.steps = input.steps;
    const NpyArray *array = expectArray(inputs, options.inputsDir, input.name,
                                        diskShape(type, *batch));
    if (!array)
      return 1;
    std::string path = (fs::path(options.inputsDir) / input.name).string();
    if (input.isToken &&
        !checkTokens(path + ".npy", *array, input.vocab, diags))
      return 1;
    copyIn(*array, instance.buffer(input.name), input.isToken,
           options.useDouble);
  }

  instance.run();

  std::error_code ignored;
  fs::create_directories(options.outputsDir, ignored);
  fs::create_directories(options.gradsDir, ignored);
  for (const ir::NamedValue &output : compilation.function->outputs) {
    bool isGradient = output.name.rfind("grad_", 0) == 0;
    const std::string &dir = isGradient ? options.gradsDir : options.outputsDir;
    std::string path = (fs::path(dir) / (output.name + ".npy")).string();
    if (!writeValue(path, output.value->type, instance.buffer(output.name),
                    *batch, options.useDouble, diags))
      return 1;
  }
  return 0;
}

} // namespace weft::driver
