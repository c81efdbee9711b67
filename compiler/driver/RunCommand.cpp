// `weft run`: loads parameters and inputs from .npy files, binds the model's
// sizes from their shapes, runs the forward and backward pass once, and
// writes every output and every gradient as .npy files. With `--steps-over`
// and `--optimizer` it instead takes one optimiser step per slice of an
// array and writes the loss, gradient norm and parameters of every step.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Cuda.h"
#include "runtime/Npy.h"
#include "runtime/Optimizers.h"
#include "runtime/Weights.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <type_traits>
#include <variant>

namespace weft::driver {

namespace fs = std::filesystem;
using runtime::NpyArray;

namespace {

/// Named arrays and the file each was read from, for error messages.
struct ArraySet {
  std::map<std::string, NpyArray> arrays;
  std::map<std::string, std::string> paths;
};

/// Reads every `.npy` file of a folder, by file stem, or every array of an
/// `.npz` or safetensors file, by name.
bool readFolder(const std::string &dir, ArraySet &out,
                DiagnosticEngine &diags) {
  bool isFile = runtime::isWeightsFile(dir);
  std::string problem;
  std::optional<runtime::NamedArrays> arrays =
      isFile ? runtime::readWeights(dir, &problem)
             : runtime::readNpyFolder(dir, &problem);
  if (!arrays) {
    diags.errorWithoutLocation(problem);
    return false;
  }
  for (auto &[name, array] : *arrays) {
    out.paths[name] =
        isFile ? dir + ":" + name : (fs::path(dir) / (name + ".npy")).string();
    out.arrays[name] = std::move(array);
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

int64_t elementCount(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool writeArray(const std::string &path, const NpyArray &array,
                DiagnosticEngine &diags) {
  std::string problem;
  if (runtime::writeNpy(path, array, &problem))
    return true;
  diags.errorWithoutLocation(problem);
  return false;
}

bool writeValue(const std::string &path, const ir::Type &type,
                const void *buffer, int64_t batch, bool useDouble,
                DiagnosticEngine &diags) {
  std::vector<int64_t> shape = diskShape(type, batch);
  size_t count = static_cast<size_t>(elementCount(shape));
  NpyArray array =
      useDouble
          ? NpyArray::fromDoubles(shape,
                                  {static_cast<const double *>(buffer), count})
          : NpyArray::fromFloats(shape,
                                 {static_cast<const float *>(buffer), count});
  return writeArray(path, array, diags);
}

/// The batch size: the batch axis of the inputs, which must all agree.
std::optional<int64_t> batchSize(const sema::ModelInfo &info,
                                 const ArraySet &inputs,
                                 DiagnosticEngine &diags) {
  std::optional<int64_t> batch;
  std::string first;
  for (const sema::InputInfo &input : info.inputs) {
    auto found = inputs.arrays.find(input.name);
    size_t axis = input.steps ? 1 : 0;
    if (found == inputs.arrays.end() || found->second.shape.size() <= axis)
      continue;
    int64_t size = found->second.shape[axis];
    const std::string &path = inputs.paths.at(input.name);
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

/// `--steps-over INPUT=FILE`: the input fed one slice of FILE per step.
struct SteppedInput {
  std::string input;
  std::string path;
  NpyArray steps; ///< [K, ...the input's array shape...]

  int64_t count() const { return steps.shape[0]; }
};

/// Slice `index` of an array along its leading axis.
NpyArray sliceOf(const NpyArray &array, int64_t index) {
  NpyArray slice;
  slice.dtype = array.dtype;
  slice.shape.assign(array.shape.begin() + 1, array.shape.end());
  size_t bytes = elementCount(slice.shape) * runtime::elementSize(array.dtype);
  auto begin = array.bytes.begin() + index * bytes;
  slice.bytes.assign(begin, begin + bytes);
  return slice;
}

/// The axes an input's array has on disk (time, batch, then its own), from
/// the model's declaration; null when the model has no such input.
std::optional<size_t> declaredInputRank(const ast::Decl &model,
                                        const std::string &name,
                                        std::vector<std::string> &allInputs) {
  std::optional<size_t> rank;
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind != ast::StmtKind::Input)
      continue;
    const ast::Declared &declared = stmt.declared[0];
    allInputs.push_back("`" + declared.name + "`");
    if (declared.name != name)
      continue;
    size_t own = declared.type.isToken ? 0 : declared.type.dims.size();
    rank = own + (stmt.timeIndex.empty() ? 1 : 2);
  }
  return rank;
}

/// Reads the array of `--steps-over INPUT=FILE`, checks that the model has
/// that input and that the array has one more axis, and puts its first
/// slice among `inputs` so that the sizes bind from it.
std::optional<SteppedInput> loadSteppedInput(const std::string &option,
                                             const ast::Decl &model,
                                             ArraySet &inputs,
                                             DiagnosticEngine &diags) {
  size_t equals = option.find('=');
  if (equals == std::string::npos || equals == 0 ||
      equals + 1 == option.size()) {
    diags.errorWithoutLocation(fmt::format(
        "`--steps-over` takes INPUT=FILE, such as `tokens=batches.npy`, not "
        "`{}`",
        option));
    return std::nullopt;
  }
  SteppedInput stepped;
  stepped.input = option.substr(0, equals);
  stepped.path = option.substr(equals + 1);
  std::string problem;
  std::optional<NpyArray> array = runtime::readNpy(stepped.path, &problem);
  if (!array) {
    diags.errorWithoutLocation(problem);
    return std::nullopt;
  }
  stepped.steps = std::move(*array);

  std::vector<std::string> allInputs;
  std::optional<size_t> rank =
      declaredInputRank(model, stepped.input, allInputs);
  if (!rank) {
    diags.errorWithoutLocation(fmt::format(
        "`{}` is given for the input `{}`, but the model has no such input; "
        "its inputs are {}",
        stepped.path, stepped.input,
        allInputs.empty() ? "none"
                          : fmt::format("{}", fmt::join(allInputs, ", "))));
    return std::nullopt;
  }
  const std::vector<int64_t> &shape = stepped.steps.shape;
  if (shape.size() != *rank + 1) {
    diags.errorWithoutLocation(fmt::format(
        "`{}` has shape {}, but stepping over the input `{}` needs {} "
        "dimensions: the steps, then the input's {}",
        stepped.path, formatShape(shape), stepped.input, *rank + 1, *rank));
    return std::nullopt;
  }
  if (shape[0] == 0) {
    diags.errorWithoutLocation(fmt::format(
        "`{}` holds no steps: its leading axis is empty", stepped.path));
    return std::nullopt;
  }

  // An array of the same name in the --inputs folder would be ambiguous,
  // unless it is this very file.
  auto inFolder = inputs.paths.find(stepped.input);
  std::error_code error;
  if (inFolder != inputs.paths.end() &&
      !fs::equivalent(inFolder->second, stepped.path, error)) {
    diags.errorWithoutLocation(
        fmt::format("both `{}` and `--steps-over {}` give the input `{}`",
                    inFolder->second, option, stepped.input));
    return std::nullopt;
  }
  inputs.arrays[stepped.input] = sliceOf(stepped.steps, 0);
  inputs.paths[stepped.input] = stepped.path;
  return stepped;
}

/// Rejects hyperparameters that the chosen optimiser does not have, and
/// betas that would divide by zero in Adam's bias correction.
bool checkOptimizerOptions(const OptimizerStepOptions &options,
                           DiagnosticEngine &diags) {
  auto reject = [&](const char *option, const char *optimizer) {
    diags.errorWithoutLocation(fmt::format(
        "`{}` applies to `--optimizer {}` only", option, optimizer));
    return false;
  };
  if (options.optimizer == "adam" && options.momentum)
    return reject("--momentum", "sgd");
  if (options.optimizer == "sgd") {
    if (options.beta1)
      return reject("--beta1", "adam");
    if (options.beta2)
      return reject("--beta2", "adam");
    if (options.epsilon)
      return reject("--eps", "adam");
  }
  auto checkBeta = [&](const char *option, std::optional<double> beta) {
    if (!beta || *beta < 1)
      return true;
    diags.errorWithoutLocation(
        fmt::format("`{}` must be below 1, not {}", option, *beta));
    return false;
  };
  return checkBeta("--beta1", options.beta1) &&
         checkBeta("--beta2", options.beta2);
}

template <typename Real>
using Optimizer = std::variant<runtime::Sgd<Real>, runtime::Adam<Real>>;

/// The optimiser that `--optimizer` names, with PyTorch's defaults for the
/// hyperparameters not given.
template <typename Real>
Optimizer<Real> makeOptimizer(const OptimizerStepOptions &options) {
  if (options.optimizer == "sgd")
    return runtime::Sgd<Real>({.learningRate = options.learningRate,
                               .momentum = options.momentum.value_or(0.0)});
  return runtime::Adam<Real>({.learningRate = options.learningRate,
                              .beta1 = options.beta1.value_or(0.9),
                              .beta2 = options.beta2.value_or(0.999),
                              .epsilon = options.epsilon.value_or(1e-8)});
}

/// Values recorded at every step, each series written as one array whose
/// leading axis is the steps.
template <typename Real> class StepHistory {
public:
  void record(const std::string &path, const std::vector<int64_t> &shape,
              const Real *values) {
    Series &series = seriesByPath[path];
    series.shape = shape;
    series.values.insert(series.values.end(), values,
                         values + elementCount(shape));
  }
  void record(const std::string &path, double value) {
    Real rounded = static_cast<Real>(value);
    record(path, {}, &rounded);
  }

  bool write(int64_t steps, DiagnosticEngine &diags) const {
    for (const auto &[path, series] : seriesByPath) {
      std::vector<int64_t> shape = {steps};
      shape.insert(shape.end(), series.shape.begin(), series.shape.end());
      NpyArray array;
      if constexpr (std::is_same_v<Real, double>)
        array = NpyArray::fromDoubles(shape, series.values);
      else
        array = NpyArray::fromFloats(shape, series.values);
      if (!writeArray(path, array, diags))
        return false;
    }
    return true;
  }

private:
  struct Series {
    std::vector<int64_t> shape;
    std::vector<Real> values;
  };
  std::map<std::string, Series> seriesByPath;
};

/// For each slice k of the stepped array: feeds it as the input, computes
/// the loss and gradients, clips them, and steps the optimiser. Writes
/// losses, grad_norms, clip_coefs (with a limit) and after_<param> to the
/// outputs folder, and the unclipped gradients of every step to the
/// gradients folder when one is given.
template <typename Real>
bool takeOptimizerSteps(const RunOptions &options,
                        const Compilation &compilation,
                        codegen::Instance &instance,
                        const SteppedInput &stepped,
                        const sema::InputInfo &input, DiagnosticEngine &diags) {
  std::vector<runtime::TrainedTensor<Real>> tensors;
  for (const sema::ParamInfo &param : compilation.info.params) {
    size_t count = instance.elements(param.name);
    tensors.push_back(
        {{static_cast<Real *>(instance.buffer(param.name)), count},
         {static_cast<Real *>(instance.buffer("grad_" + param.name)), count}});
  }
  Optimizer<Real> optimizer = makeOptimizer<Real>(options.stepping);
  const std::optional<double> &clip = options.stepping.clip;
  fs::path outputs = options.outputsDir, gradients = options.gradsDir;
  StepHistory<Real> history;

  for (int64_t step = 0; step < stepped.count(); ++step) {
    copyIn(sliceOf(stepped.steps, step), instance.buffer(input.name),
           input.isToken, options.useDouble);
    instance.run();
    history.record(outputs / "losses.npy",
                   *static_cast<const Real *>(instance.buffer("loss")));
    if (!options.gradsDir.empty())
      for (const ir::NamedValue &output : compilation.function->outputs)
        if (output.name.rfind("grad_", 0) == 0)
          history.record(
              gradients / (output.name + ".npy"),
              diskShape(output.value->type, instance.batch()),
              static_cast<const Real *>(instance.buffer(output.name)));

    // The norm is the one before clipping, as clip_grad_norm_ returns it.
    double norm = clip ? runtime::clipGradientNorm<Real>(tensors, *clip)
                       : runtime::globalGradientNorm<Real>(tensors);
    history.record(outputs / "grad_norms.npy", norm);
    if (clip)
      history.record(outputs / "clip_coefs.npy",
                     runtime::clipCoefficient(norm, *clip));

    std::string problem;
    if (!std::visit(
            [&](auto &chosen) { return chosen.step(tensors, &problem); },
            optimizer)) {
      diags.errorWithoutLocation(problem);
      return false;
    }
    for (const sema::ParamInfo &param : compilation.info.params)
      history.record(outputs / ("after_" + param.name + ".npy"), param.shape,
                     static_cast<const Real *>(instance.buffer(param.name)));
  }

  std::error_code ignored;
  fs::create_directories(options.outputsDir, ignored);
  if (!options.gradsDir.empty())
    fs::create_directories(options.gradsDir, ignored);
  return history.write(stepped.count(), diags);
}

/// One forward and backward pass; writes every output, and every gradient
/// when there is a `--grads` folder.
bool runOnce(const RunOptions &options, const Compilation &compilation,
             codegen::Instance &instance, DiagnosticEngine &diags) {
  instance.run();
  std::error_code ignored;
  fs::create_directories(options.outputsDir, ignored);
  if (!options.gradsDir.empty())
    fs::create_directories(options.gradsDir, ignored);
  for (const ir::NamedValue &output : compilation.function->outputs) {
    bool isGradient = output.name.rfind("grad_", 0) == 0;
    if (isGradient && options.gradsDir.empty())
      continue;
    const std::string &dir = isGradient ? options.gradsDir : options.outputsDir;
    std::string path = (fs::path(dir) / (output.name + ".npy")).string();
    if (!writeValue(path, output.value->type, instance.buffer(output.name),
                    instance.batch(), options.useDouble, diags))
      return false;
  }
  return true;
}

} // namespace

int runCommand(const RunOptions &options) {
  Compilation compilation;
  DiagnosticEngine &diags = *compilation.diags;
  bool stepping = !options.stepping.stepsOver.empty();
  if (stepping && !checkOptimizerOptions(options.stepping, diags))
    return 1;
  if (options.device != "cpu" && options.useDouble) {
    diags.errorWithoutLocation(
        fmt::format("`--device {}` computes in float32: drop `--dtype f64`",
                    options.device));
    return 1;
  }
  std::string problem;
  if (options.device == "cuda" && !runtime::cudaDeviceCount(&problem)) {
    diags.errorWithoutLocation(problem);
    return 1;
  }

  ArraySet params, inputs;
  if (!compilation.load(options.model) ||
      !compilation.bindSizeOptions(options.sizes) ||
      (!options.paramsDir.empty() &&
       !readFolder(options.paramsDir, params, diags)) ||
      !readFolder(options.inputsDir, inputs, diags))
    return 1;
  std::optional<SteppedInput> stepped;
  if (stepping) {
    stepped = loadSteppedInput(options.stepping.stepsOver, *compilation.model,
                               inputs, diags);
    if (!stepped)
      return 1;
  }

  // A missing input would otherwise show first as a size nothing gives.
  for (const ast::Stmt &stmt : compilation.model->body) {
    if (stmt.kind != ast::StmtKind::Input)
      continue;
    const std::string &name = stmt.declared[0].name;
    if (!inputs.arrays.count(name) && !(stepped && stepped->input == name)) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` is missing: the model's input `{}` needs it",
          (fs::path(options.inputsDir) / (name + ".npy")).string(), name));
      return 1;
    }
  }
  sema::ArrayShapes shapes;
  for (const auto &[name, array] : params.arrays)
    shapes.params[name] = array.shape;
  for (const auto &[name, array] : inputs.arrays)
    shapes.inputs[name] = array.shape;
  shapes.paramPaths = params.paths;
  shapes.inputPaths = inputs.paths;
  if (!sema::bindSizesFromArrays(*compilation.model, shapes, compilation.sizes,
                                 diags) ||
      !compilation.build(true))
    return 1;

  std::optional<int64_t> batch = batchSize(compilation.info, inputs, diags);
  if (!batch)
    return 1;

  // Every parameter and input must be given with exactly its shape; the
  // stepped input's array has the steps in front.
  auto expectArray = [&](const ArraySet &set, const std::string &dir,
                         const std::string &name,
                         std::vector<int64_t> shape) -> const NpyArray * {
    auto found = set.arrays.find(name);
    if (found == set.arrays.end()) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` is missing", (fs::path(dir) / (name + ".npy")).string()));
      return nullptr;
    }
    std::vector<int64_t> actual = found->second.shape;
    if (stepped && name == stepped->input) {
      actual = stepped->steps.shape;
      shape.insert(shape.begin(), stepped->count());
    }
    if (actual != shape) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` has shape {}, but the model needs {}", set.paths.at(name),
          formatShape(actual), formatShape(shape)));
      return nullptr;
    }
    return &found->second;
  };

  bool compiled =
      options.device == "cpu"
          ? compilation.compile(options.useDouble ? codegen::FloatType::F64
                                                  : codegen::FloatType::F32)
          : compilation.compileForDevice(options.device);
  if (!compiled)
    return 1;
  if (options.paramsDir.empty() && !compilation.info.params.empty()) {
    diags.errorWithoutLocation(
        fmt::format("the model has parameters (`{}` first): give them with "
                    "`--params DIR` (or an .npz or .safetensors file)",
                    compilation.info.params[0].name));
    return 1;
  }
  codegen::Instance instance(compilation.step(), *batch);
  for (const sema::ParamInfo &param : compilation.info.params) {
    const NpyArray *array =
        expectArray(params, options.paramsDir, param.name, param.shape);
    if (!array)
      return 1;
    copyIn(*array, instance.buffer(param.name), false, options.useDouble);
  }
  const sema::InputInfo *steppedInput = nullptr;
  for (const sema::InputInfo &input : compilation.info.inputs) {
    // A carried state that is not given starts at zero.
    if (!input.carriedFrom.empty() && !inputs.arrays.count(input.name))
      continue;
    ir::Type type;
    type.shape = input.shape;
    type.steps = input.steps;
    const NpyArray *array = expectArray(inputs, options.inputsDir, input.name,
                                        diskShape(type, *batch));
    if (!array)
      return 1;
    bool isStepped = stepped && input.name == stepped->input;
    if (input.isToken &&
        !checkTokens(inputs.paths.at(input.name),
                     isStepped ? stepped->steps : *array, input.vocab, diags))
      return 1;
    copyIn(*array, instance.buffer(input.name), input.isToken,
           options.useDouble);
    if (isStepped)
      steppedInput = &input;
  }

  if (!stepped)
    return runOnce(options, compilation, instance, diags) ? 0 : 1;
  if (!steppedInput) {
    diags.errorWithoutLocation(fmt::format(
        "`--steps-over` cannot feed `{}`, a carried state", stepped->input));
    return 1;
  }
  bool stepsTaken =
      options.useDouble
          ? takeOptimizerSteps<double>(options, compilation, instance, *stepped,
                                       *steppedInput, diags)
          : takeOptimizerSteps<float>(options, compilation, instance, *stepped,
                                      *steppedInput, diags);
  return stepsTaken ? 0 : 1;
}

} // namespace weft::driver
