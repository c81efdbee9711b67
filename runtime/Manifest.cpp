// The manifest as JSON, and the training view of a model.
#include "runtime/Manifest.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace weft::runtime {

namespace {

using nlohmann::json;

const char *const roleNames[] = {"param", "input", "output", "temp"};

json toJson(const BufferSpec &buffer) {
  return {{"name", buffer.name},
          {"role", roleNames[static_cast<int>(buffer.role)]},
          {"int", buffer.isInt},
          {"fixed", buffer.fixedElements},
          {"per_example", buffer.elementsPerExample}};
}

json toJson(const ParamSpec &param) {
  return {{"name", param.name},
          {"shape", param.shape},
          {"init", param.init},
          {"init_args", param.initArgs}};
}

json toJson(const InputSpec &input) {
  return {{"name", input.name},   {"shape", input.shape},
          {"steps", input.steps}, {"token", input.isToken},
          {"vocab", input.vocab}, {"carried_from", input.carriedFrom}};
}

json toJson(const OutputSpec &output) {
  return {
      {"name", output.name}, {"shape", output.shape}, {"steps", output.steps}};
}

BufferSpec bufferFrom(const json &value) {
  std::string role = value.at("role").get<std::string>();
  int index = 0;
  while (index < 3 && role != roleNames[index])
    ++index;
  if (role != roleNames[index])
    throw std::runtime_error("unknown buffer role `" + role + "`");
  return {value.at("name").get<std::string>(), static_cast<BufferRole>(index),
          value.at("int").get<bool>(), value.at("fixed").get<int64_t>(),
          value.at("per_example").get<int64_t>()};
}

ParamSpec paramFrom(const json &value) {
  return {value.at("name").get<std::string>(),
          value.at("shape").get<std::vector<int64_t>>(),
          value.at("init").get<std::string>(),
          value.at("init_args").get<std::vector<double>>()};
}

InputSpec inputFrom(const json &value) {
  return {value.at("name").get<std::string>(),
          value.at("shape").get<std::vector<int64_t>>(),
          value.at("steps").get<int64_t>(),
          value.at("token").get<bool>(),
          value.at("vocab").get<int64_t>(),
          value.at("carried_from").get<std::string>()};
}

OutputSpec outputFrom(const json &value) {
  return {value.at("name").get<std::string>(),
          value.at("shape").get<std::vector<int64_t>>(),
          value.at("steps").get<int64_t>()};
}

} // namespace

std::string manifestToJson(const Manifest &manifest) {
  json document = {{"float_bytes", manifest.floatBytes},
                   {"buffers", json::array()},
                   {"params", json::array()},
                   {"inputs", json::array()},
                   {"outputs", json::array()},
                   {"logits", manifest.logits}};
  for (const BufferSpec &buffer : manifest.buffers)
    document["buffers"].push_back(toJson(buffer));
  for (const ParamSpec &param : manifest.params)
    document["params"].push_back(toJson(param));
  for (const InputSpec &input : manifest.inputs)
    document["inputs"].push_back(toJson(input));
  for (const OutputSpec &output : manifest.outputs)
    document["outputs"].push_back(toJson(output));
  return document.dump();
}

std::optional<Manifest> parseManifest(std::string_view text,
                                      std::string *error) {
  try {
    json document = json::parse(text);
    Manifest manifest;
    manifest.floatBytes = document.at("float_bytes").get<size_t>();
    for (const json &buffer : document.at("buffers"))
      manifest.buffers.push_back(bufferFrom(buffer));
    for (const json &param : document.at("params"))
      manifest.params.push_back(paramFrom(param));
    for (const json &input : document.at("inputs"))
      manifest.inputs.push_back(inputFrom(input));
    for (const json &output : document.at("outputs"))
      manifest.outputs.push_back(outputFrom(output));
    manifest.logits = document.at("logits").get<std::string>();
    return manifest;
  } catch (const std::exception &problem) {
    *error =
        fmt::format("the program's manifest is malformed: {}", problem.what());
    return std::nullopt;
  }
}

std::optional<TrainingModel>
trainingModel(const Manifest &manifest, TrainingData data, std::string *error) {
  TrainingModel model;
  model.params = manifest.params;
  model.outputs = manifest.outputs;
  model.logits = manifest.logits;
  if (data == TrainingData::Examples) {
    for (const InputSpec &input : manifest.inputs)
      (input.carriedFrom.empty() ? model.fed : model.carried).push_back(input);
    return model;
  }
  bool haveTokens = false;
  for (const InputSpec &input : manifest.inputs) {
    if (input.isToken && input.steps > 1 && !haveTokens) {
      model.tokens = input;
      haveTokens = true;
    } else if (!input.carriedFrom.empty()) {
      model.carried.push_back(input);
    } else {
      *error = fmt::format("training on text feeds one token stream; the "
                           "input `{}` would need data too: train on "
                           "examples (`--train-data`) instead",
                           input.name);
      return std::nullopt;
    }
  }
  if (!haveTokens) {
    *error = "training needs a model with a token stream input, such as "
             "`input text[n]: token(V)`";
    return std::nullopt;
  }
  return model;
}

bool setParameters(const NamedArrays &arrays,
                   const std::vector<ParamSpec> &params,
                   const std::string &source, Instance &instance,
                   std::string *error) {
  for (const ParamSpec &param : params) {
    const NpyArray *array = findArray(arrays, param.name);
    if (!array) {
      *error = fmt::format("`{}` has no parameter `{}`", source, param.name);
      return false;
    }
    if (array->shape != param.shape) {
      *error = fmt::format("`{}`: `{}` has shape [{}], and the model's is [{}]",
                           source, param.name, fmt::join(array->shape, ", "),
                           fmt::join(param.shape, ", "));
      return false;
    }
    std::vector<float> values = array->toFloats();
    std::memcpy(instance.buffer(param.name), values.data(),
                values.size() * sizeof(float));
  }
  return true;
}

} // namespace weft::runtime
