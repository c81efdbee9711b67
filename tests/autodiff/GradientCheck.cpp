// The finite-difference gradient checker shared by the autodiff tests.
#include "GradientCheck.h"

#include "compiler/autodiff/Autodiff.h"

#include <gtest/gtest.h>

#include <cmath>

namespace weft::autodiff::testing {

using namespace ir;

GradientCheck::GradientCheck() : builder(function, function.body) {
  function.name = "gradient_check";
}

std::vector<double> GradientCheck::randomBuffer(const Type &type, double low,
                                                double high) {
  int64_t count = type.elementCount() * (type.batched ? batch : 1) *
                  (type.isStream() ? type.steps : 1);
  std::uniform_real_distribution<double> uniform(low, high);
  std::vector<double> buffer(count);
  for (double &element : buffer)
    element = uniform(random);
  return buffer;
}

Value *GradientCheck::param(const std::string &name, std::vector<int64_t> shape,
                            double low, double high) {
  Value *value = builder.param(name, std::move(shape));
  params[name] = randomBuffer(value->type, low, high);
  paramNames.push_back(name);
  return value;
}

Value *GradientCheck::input(const std::string &name, std::vector<int64_t> shape,
                            int64_t steps, double low, double high) {
  Type type{std::move(shape), true, steps, ElementType::Float};
  inputs[name] = randomBuffer(type, low, high);
  floatInputs.push_back(name);
  return builder.input(name, type);
}

Value *GradientCheck::ids(const std::string &name, int64_t vocabulary,
                          int64_t steps, std::vector<int64_t> shape) {
  Type type{std::move(shape), true, steps, ElementType::Int};
  std::vector<double> buffer = randomBuffer(type, 0, vocabulary);
  for (double &id : buffer)
    id = std::min<double>(std::floor(id), vocabulary - 1);
  inputs[name] = buffer;
  return builder.input(name, type);
}

void GradientCheck::setWeightedLoss(Value *value) {
  std::string name = "probe" + std::to_string(probes++);
  const Type &type = value->type;
  Value *probe = type.batched ? input(name, type.shape, type.steps)
                              : param(name, type.shape);
  if (type.isStream() && !type.batched)
    probe = builder.streamFill(probe, type.steps);
  Value *weighted = builder.binary(OpKind::Mul, value, probe);
  if (weighted->type.isStream())
    weighted = builder.sumSteps(weighted);
  Value *loss = builder.sumAll(weighted);
  if (loss->type.batched)
    loss = builder.sumBatch(loss, /*mean=*/false);
  setLoss(loss);
}

void GradientCheck::setLoss(Value *loss) {
  function.outputs.push_back({"loss", loss});
}

double GradientCheck::lossAt(const BufferMap &atParams,
                             const BufferMap &atInputs) {
  return evaluate(function, batch, atParams, atInputs).at("loss")[0];
}

void GradientCheck::check(double tolerance) {
  appendGradients(function);
  ASSERT_EQ(verify(function), "") << print(function);
  BufferMap outputs = evaluate(function, batch, params, inputs);
  const double step = 1e-6;

  // Perturbs each element of each named buffer in `buffers` both ways.
  auto checkAll = [&](BufferMap &buffers, const std::string &name) {
    const std::vector<double> &gradient = outputs.at("grad_" + name);
    ASSERT_EQ(gradient.size(), buffers.at(name).size()) << name;
    for (size_t i = 0; i < gradient.size(); ++i) {
      double saved = buffers[name][i];
      buffers[name][i] = saved + step;
      double up = lossAt(params, inputs);
      buffers[name][i] = saved - step;
      double down = lossAt(params, inputs);
      buffers[name][i] = saved;
      double expected = (up - down) / (2 * step);
      double scale = std::max({1.0, std::abs(expected), std::abs(up)});
      EXPECT_NEAR(gradient[i], expected, tolerance * scale)
          << "grad_" << name << "[" << i << "]";
    }
  };
  for (const std::string &name : paramNames)
    checkAll(params, name);
  for (const std::string &name : floatInputs)
    checkAll(inputs, name);
}

} // namespace weft::autodiff::testing
