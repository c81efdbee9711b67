// Test data, JIT runs and comparisons against the interpreter.
#include "CodegenTestSupport.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace weft::codegen::testing {

namespace {

int64_t totalElements(const ir::Type &type, int64_t batch) {
  return type.elementCount() * (type.batched ? batch : 1) *
         std::max<int64_t>(type.steps, 1);
}

/// A small linear congruential generator: the same values on every run.
class Values {
public:
  explicit Values(unsigned seed) : state(seed * 2654435761u + 12345u) {}
  double next() {
    state = state * 1103515245u + 12345u;
    return static_cast<int>((state >> 8) % 513) / 256.0 - 1.0;
  }

private:
  uint32_t state;
};

template <typename T> void fill(void *buffer, const std::vector<double> &data) {
  auto *elements = static_cast<T *>(buffer);
  for (size_t i = 0; i < data.size(); ++i)
    elements[i] = static_cast<T>(data[i]);
}

template <typename T>
std::vector<double> read(const void *buffer, int64_t count) {
  const auto *elements = static_cast<const T *>(buffer);
  return std::vector<double>(elements, elements + count);
}

} // namespace

RunData makeRunData(const ir::Function &function, int64_t batch,
                    int64_t idRange, unsigned seed) {
  RunData data;
  Values values(seed);
  int64_t nextId = 0;
  for (const auto &op : function.body.ops) {
    if (op->kind != ir::OpKind::Param && op->kind != ir::OpKind::Input)
      continue;
    const ir::Type &type = op->result()->type;
    std::vector<double> elements(totalElements(type, batch));
    for (double &element : elements)
      element = type.element == ir::ElementType::Int
                    ? static_cast<double>((nextId++ * 5 + 2) % idRange)
                    : values.next();
    auto &target = op->kind == ir::OpKind::Param ? data.params : data.inputs;
    target[op->name] = std::move(elements);
  }
  return data;
}

ir::BufferMap runCompiled(const Executable &executable, int64_t batch,
                          const RunData &data, int runs) {
  Instance instance(executable, batch);
  bool isF32 = executable.options().floatType == FloatType::F32;
  auto copyIn = [&](const ir::BufferMap &buffers, BufferRole role) {
    for (const BufferSpec &spec : executable.buffers()) {
      if (spec.role != role)
        continue;
      const std::vector<double> &source = buffers.at(spec.name);
      EXPECT_EQ(static_cast<int64_t>(source.size()), spec.elements(batch))
          << spec.name;
      void *buffer = instance.buffer(spec.name);
      if (spec.isInt)
        fill<int64_t>(buffer, source);
      else if (isF32)
        fill<float>(buffer, source);
      else
        fill<double>(buffer, source);
    }
  };
  copyIn(data.params, BufferRole::Param);
  copyIn(data.inputs, BufferRole::Input);
  for (int run = 0; run < runs; ++run)
    instance.run();

  ir::BufferMap outputs;
  for (const BufferSpec &spec : executable.buffers()) {
    if (spec.role != BufferRole::Output)
      continue;
    const void *buffer = instance.buffer(spec.name);
    int64_t count = spec.elements(batch);
    outputs[spec.name] = spec.isInt ? read<int64_t>(buffer, count)
                         : isF32    ? read<float>(buffer, count)
                                    : read<double>(buffer, count);
  }
  return outputs;
}

void expectClose(const ir::BufferMap &expected, const ir::BufferMap &actual,
                 double tolerance) {
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto &[name, values] : expected) {
    auto found = actual.find(name);
    ASSERT_NE(found, actual.end()) << "missing output " << name;
    ASSERT_EQ(values.size(), found->second.size()) << name;
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_NEAR(found->second[i], values[i],
                  tolerance * (1 + std::fabs(values[i])))
          << name << "[" << i << "]";
  }
}

void expectMatchesInterpreter(const ir::Function &function, FloatType type,
                              int64_t batch, int64_t idRange) {
  ASSERT_EQ(ir::verify(function), "") << ir::print(function);
  std::string error;
  std::unique_ptr<Executable> executable =
      Executable::compile(function, {type, 2}, &error);
  ASSERT_TRUE(executable) << error;
  RunData data = makeRunData(function, batch, idRange);
  ir::BufferMap expected =
      ir::evaluate(function, batch, data.params, data.inputs);
  ir::BufferMap actual = runCompiled(*executable, batch, data);
  double tolerance = type == FloatType::F64 ? 1e-12 : 1e-5;
  SCOPED_TRACE(executable->loweredText());
  expectClose(expected, actual, tolerance);
}

std::string paramName(
    const ::testing::TestParamInfo<std::tuple<FloatType, int64_t>> &info) {
  return fmt::format("{}_batch{}",
                     std::get<0>(info.param) == FloatType::F64 ? "f64" : "f32",
                     std::get<1>(info.param));
}

} // namespace weft::codegen::testing
