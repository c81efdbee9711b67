// The launch plan as text and as JSON: see DevicePlan.h.
#include "runtime/DevicePlan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace weft::runtime {

int64_t PlanElement::at(int64_t batch,
                        const std::vector<int64_t> &steps) const {
  int64_t offset = base.at(batch);
  for (const Term &term : terms)
    offset += term.stride.at(batch) * steps[term.loop];
  return offset;
}

namespace {

std::string describeSize(PlanSize size) {
  if (size.perBatch == 0)
    return std::to_string(size.fixed);
  std::string scaled =
      size.perBatch == 1 ? "batch" : fmt::format("{}*batch", size.perBatch);
  return size.fixed == 0 ? scaled : fmt::format("{}+{}", size.fixed, scaled);
}

std::string describePoints(const std::vector<PlanSize> &extents) {
  if (extents.empty())
    return "1";
  std::string text;
  for (const PlanSize &extent : extents)
    text += (text.empty() ? "" : " x ") + describeSize(extent);
  return text;
}

std::string describeStep(const PlanStep &step) {
  switch (step.kind) {
  case PlanStep::Kind::Launch:
    if (step.serial)
      return fmt::format("launch weft_kernel{} points 1 (serial over {})",
                         step.kernel, describePoints(step.extents));
    return fmt::format("launch weft_kernel{} points {}", step.kernel,
                       describePoints(step.extents));
  case PlanStep::Kind::Gemm:
    return fmt::format("gemm {} m {} n {} k {}{}{} into buffer {}", step.label,
                       describeSize(step.m), describeSize(step.n),
                       describeSize(step.k), step.transposeA ? " A^T" : "",
                       step.transposeB ? " B^T" : "", step.c.buffer);
  case PlanStep::Kind::Copy:
    return fmt::format("copy {} elements buffer {} -> buffer {}",
                       describeSize(step.count), step.source.buffer,
                       step.destination.buffer);
  case PlanStep::Kind::Loop:
    return fmt::format("for t{} in {} steps{}", step.loop, step.steps,
                       step.reverse ? ", last first" : "");
  }
  return "";
}

void describeSteps(const std::vector<PlanStep> &steps, int depth,
                   std::string &text) {
  for (const PlanStep &step : steps) {
    text += std::string(2 * depth, ' ') + describeStep(step) + "\n";
    if (step.kind == PlanStep::Kind::Loop)
      describeSteps(step.body, depth + 1, text);
  }
}

using nlohmann::json;

json toJson(PlanSize size) { return {size.fixed, size.perBatch}; }

PlanSize sizeFrom(const json &value) {
  return {value.at(0).get<int64_t>(), value.at(1).get<int64_t>()};
}

json toJson(const PlanElement &element) {
  json terms = json::array();
  for (const PlanElement::Term &term : element.terms)
    terms.push_back({term.loop, toJson(term.stride)});
  return {{"buffer", element.buffer},
          {"base", toJson(element.base)},
          {"terms", terms}};
}

PlanElement elementFrom(const json &value) {
  PlanElement element;
  element.buffer = value.at("buffer").get<int>();
  element.base = sizeFrom(value.at("base"));
  for (const json &term : value.at("terms"))
    element.terms.push_back({term.at(0).get<int>(), sizeFrom(term.at(1))});
  return element;
}

const char *const kindNames[] = {"launch", "gemm", "copy", "loop"};

json toJson(const std::vector<PlanStep> &steps);

json toJson(const PlanStep &step) {
  json value = {{"kind", kindNames[static_cast<int>(step.kind)]}};
  switch (step.kind) {
  case PlanStep::Kind::Launch: {
    json extents = json::array();
    for (PlanSize extent : step.extents)
      extents.push_back(toJson(extent));
    value.update({{"kernel", step.kernel},
                  {"extents", extents},
                  {"serial", step.serial}});
    break;
  }
  case PlanStep::Kind::Gemm:
    value.update({{"label", step.label},
                  {"transpose_a", step.transposeA},
                  {"transpose_b", step.transposeB},
                  {"m", toJson(step.m)},
                  {"n", toJson(step.n)},
                  {"k", toJson(step.k)},
                  {"a", toJson(step.a)},
                  {"b", toJson(step.b)},
                  {"c", toJson(step.c)},
                  {"lda", step.lda},
                  {"ldb", step.ldb},
                  {"ldc", step.ldc},
                  {"alpha", step.alpha},
                  {"beta", step.beta}});
    break;
  case PlanStep::Kind::Copy:
    value.update({{"destination", toJson(step.destination)},
                  {"source", toJson(step.source)},
                  {"count", toJson(step.count)}});
    break;
  case PlanStep::Kind::Loop:
    value.update({{"loop", step.loop},
                  {"steps", step.steps},
                  {"reverse", step.reverse},
                  {"body", toJson(step.body)}});
    break;
  }
  return value;
}

json toJson(const std::vector<PlanStep> &steps) {
  json list = json::array();
  for (const PlanStep &step : steps)
    list.push_back(toJson(step));
  return list;
}

std::vector<PlanStep> stepsFrom(const json &list);

PlanStep stepFrom(const json &value) {
  PlanStep step;
  std::string kind = value.at("kind").get<std::string>();
  int index = 0;
  while (index < 3 && kind != kindNames[index])
    ++index;
  if (kind != kindNames[index])
    throw std::runtime_error("unknown plan step `" + kind + "`");
  step.kind = static_cast<PlanStep::Kind>(index);
  switch (step.kind) {
  case PlanStep::Kind::Launch:
    step.kernel = value.at("kernel").get<unsigned>();
    for (const json &extent : value.at("extents"))
      step.extents.push_back(sizeFrom(extent));
    step.serial = value.at("serial").get<bool>();
    break;
  case PlanStep::Kind::Gemm:
    step.label = value.at("label").get<std::string>();
    step.transposeA = value.at("transpose_a").get<bool>();
    step.transposeB = value.at("transpose_b").get<bool>();
    step.m = sizeFrom(value.at("m"));
    step.n = sizeFrom(value.at("n"));
    step.k = sizeFrom(value.at("k"));
    step.a = elementFrom(value.at("a"));
    step.b = elementFrom(value.at("b"));
    step.c = elementFrom(value.at("c"));
    step.lda = value.at("lda").get<int64_t>();
    step.ldb = value.at("ldb").get<int64_t>();
    step.ldc = value.at("ldc").get<int64_t>();
    step.alpha = value.at("alpha").get<double>();
    step.beta = value.at("beta").get<double>();
    break;
  case PlanStep::Kind::Copy:
    step.destination = elementFrom(value.at("destination"));
    step.source = elementFrom(value.at("source"));
    step.count = sizeFrom(value.at("count"));
    break;
  case PlanStep::Kind::Loop:
    step.loop = value.at("loop").get<int>();
    step.steps = value.at("steps").get<int64_t>();
    step.reverse = value.at("reverse").get<bool>();
    step.body = stepsFrom(value.at("body"));
    break;
  }
  return step;
}

std::vector<PlanStep> stepsFrom(const json &list) {
  std::vector<PlanStep> steps;
  for (const json &value : list)
    steps.push_back(stepFrom(value));
  return steps;
}

} // namespace

std::string describePlan(const DevicePlan &plan) {
  std::string text;
  describeSteps(plan.steps, 0, text);
  return text;
}

std::string planToJson(const DevicePlan &plan) {
  return json{{"kernels", plan.kernelCount},
              {"loops", plan.loopCount},
              {"steps", toJson(plan.steps)}}
      .dump();
}

std::optional<DevicePlan> planFromJson(const std::string &text,
                                       std::string *error) {
  try {
    json value = json::parse(text);
    DevicePlan plan;
    plan.kernelCount = value.at("kernels").get<unsigned>();
    plan.loopCount = value.at("loops").get<int>();
    plan.steps = stepsFrom(value.at("steps"));
    return plan;
  } catch (const std::exception &problem) {
    *error = fmt::format("not a launch plan: {}", problem.what());
    return std::nullopt;
  }
}

} // namespace weft::runtime
