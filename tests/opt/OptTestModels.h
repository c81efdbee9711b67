// Small models and checks shared by the tests of the opt passes.
#pragma once

#include "compiler/ir/IR.h"
#include "compiler/ir/Interpreter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>

namespace weft::testing {

using ir::OpKind;

/// h[t] = tanh(W x[t] + b + U h[t - 1]); loss = mean over the batch of
/// the sum over steps of sum(h[t]).
inline std::unique_ptr<ir::Function> buildElman(int64_t steps, int64_t inputs,
                                                int64_t hidden) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Type stream{{inputs}, true, steps, ir::ElementType::Float};
  ir::Value *x = top.input("x", stream);
  ir::Value *h0 = top.input("h0", ir::Type{{hidden}});
  ir::Value *w = top.param("W", {hidden, inputs});
  ir::Value *u = top.param("U", {hidden, hidden});
  ir::Value *b = top.param("b", {hidden});
  ir::Op *scan = top.beginScan(steps, false, {h0}, {x}, {0}, {w, u, b});
  ir::Block &body = *scan->body;
  ir::Builder inner(*function, body);
  ir::Value *carry = body.arguments[0].get();
  ir::Value *input = body.arguments[1].get();
  ir::Value *projected =
      inner.binary(OpKind::Add, inner.matVec(body.arguments[2].get(), input),
                   body.arguments[4].get());
  ir::Value *next = inner.unary(
      OpKind::Tanh, inner.binary(OpKind::Add, projected,
                                 inner.matVec(body.arguments[3].get(), carry)));
  top.finishScan(scan, {next}, {inner.sumAll(next)});
  ir::Value *loss = top.sumBatch(top.sumSteps(scan->result(1)), true);
  function->outputs.push_back({"loss", loss});
  return function;
}

inline ir::BufferMap randomBuffers(std::map<std::string, size_t> sizes,
                                   std::mt19937_64 &rng) {
  std::normal_distribution<double> normal(0.0, 0.5);
  ir::BufferMap buffers;
  for (const auto &[name, size] : sizes)
    for (size_t i = 0; i < size; ++i)
      buffers[name].push_back(normal(rng));
  return buffers;
}

/// Runs both functions on the same buffers and expects every output to
/// agree to float64 rounding.
inline void expectSameOutputs(ir::Function &expectedFunction,
                              ir::Function &actualFunction, int64_t batch,
                              const ir::BufferMap &params,
                              const ir::BufferMap &values) {
  ir::BufferMap expected =
      ir::evaluate(expectedFunction, batch, params, values);
  ir::BufferMap actual = ir::evaluate(actualFunction, batch, params, values);
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto &[name, want] : expected) {
    const std::vector<double> &got = actual.at(name);
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i])))
          << name << "[" << i << "]";
  }
}

/// Random parameters and inputs of buildElman's model.
struct ElmanBuffers {
  ir::BufferMap params, values;
  ElmanBuffers(int64_t steps, int64_t inputs, int64_t hidden, int64_t batch,
               unsigned seed) {
    std::mt19937_64 rng(seed);
    params = randomBuffers(
        {{"W", hidden * inputs}, {"U", hidden * hidden}, {"b", hidden}}, rng);
    values = randomBuffers(
        {{"x", steps * batch * inputs}, {"h0", batch * hidden}}, rng);
  }
};

} // namespace weft::testing
