// Numerical edge cases through `weft run`, compared with references computed
// here in long double by other formulas: attention whose keys are all masked
// (zero weights, zero output, no NaN anywhere), and logits of magnitude 1e4
// (finite, correct losses and gradients), in float64 and float32.
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

namespace fs = std::filesystem;
using weft::runtime::NpyArray;

namespace {

/// Runs one model of tests/driver/models on the given inputs; keeps the
/// outputs and gradients it writes.
class ModelRun {
public:
  ModelRun(const std::string &model,
           const std::map<std::string, NpyArray> &inputs,
           const std::string &dtype,
           const std::map<std::string, NpyArray> &params = {})
      : work(fs::temp_directory_path() / fmt::format("weft-numerics-{}-{}-{}",
                                                     dtype, getpid(),
                                                     runCount++)) {
    fs::remove_all(work);
    for (const auto &[folder, arrays] :
         {std::pair{"params", &params}, std::pair{"inputs", &inputs}}) {
      fs::create_directories(work / folder);
      for (const auto &[name, array] : *arrays) {
        std::string error;
        EXPECT_TRUE(weft::runtime::writeNpy(
            (work / folder / (name + ".npy")).string(), array, &error))
            << error;
      }
    }
    std::string command = fmt::format(
        "'{}' run '{}/{}' --params '{}' --inputs '{}' --outputs '{}' "
        "--grads '{}' --dtype {}",
        WEFT_BINARY, WEFT_MODELS_DIR, model, (work / "params").string(),
        (work / "inputs").string(), (work / "outputs").string(),
        (work / "grads").string(), dtype);
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  ~ModelRun() { fs::remove_all(work); }

  std::vector<double> output(const std::string &name) const {
    return read(work / "outputs" / (name + ".npy"));
  }
  std::vector<double> gradient(const std::string &name) const {
    return read(work / "grads" / ("grad_" + name + ".npy"));
  }

private:
  static inline int runCount = 0;

  static std::vector<double> read(const fs::path &path) {
    std::string error;
    auto array = weft::runtime::readNpy(path.string(), &error);
    EXPECT_TRUE(array) << error;
    return array ? array->toDoubles() : std::vector<double>{};
  }

  fs::path work;
};

std::vector<double> normals(size_t count, std::mt19937_64 &rng, double scale) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(count);
  for (double &value : values)
    value = static_cast<float>(normal(rng)); // exact in float32 too
  return values;
}

void expectAllFinite(const std::vector<double> &values, const char *what) {
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_TRUE(std::isfinite(values[i])) << what << "[" << i << "]";
}

class Numerics : public testing::TestWithParam<const char *> {};

// Example 1 has every key masked: its weights, its read-out and every
// gradient that flows through it are exactly zero, and nothing is NaN.
TEST_P(Numerics, FullyMaskedAttentionRowIsZero) {
  const int64_t B = 3, S = 4, D = 3;
  std::mt19937_64 rng(5);
  std::vector<double> q = normals(B * D, rng, 1);
  std::vector<double> keys = normals(B * S * D, rng, 1);
  std::vector<double> g = normals(B * D, rng, 1);
  std::vector<double> mask = {1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  ModelRun run("masked_attention.weft",
               {{"q", NpyArray::fromDoubles({B, D}, q)},
                {"keys", NpyArray::fromDoubles({B, S, D}, keys)},
                {"mask", NpyArray::fromDoubles({B, S}, mask)},
                {"G", NpyArray::fromDoubles({B, D}, g)}},
               GetParam());
  std::vector<double> weights = run.output("weights");
  std::vector<double> readOut = run.output("read");
  ASSERT_EQ(weights.size(), size_t(B * S));
  expectAllFinite(weights, "weights");
  expectAllFinite(readOut, "read");
  for (const char *name : {"q", "keys", "mask"})
    expectAllFinite(run.gradient(name), name);

  double tolerance = std::string(GetParam()) == "f64" ? 1e-12 : 1e-5;
  for (int64_t b = 0; b < B; ++b) {
    // The reference: a softmax over the unmasked scores only.
    long double largest = -INFINITY, total = 0;
    std::vector<long double> scores(S);
    for (int64_t s = 0; s < S; ++s) {
      for (int64_t d = 0; d < D; ++d)
        scores[s] += (long double)keys[(b * S + s) * D + d] * q[b * D + d];
      if (mask[b * S + s] != 0)
        largest = std::max(largest, scores[s]);
    }
    for (int64_t s = 0; s < S; ++s)
      if (mask[b * S + s] != 0)
        total += std::exp(scores[s] - largest);
    for (int64_t s = 0; s < S; ++s) {
      long double expected =
          mask[b * S + s] != 0 ? std::exp(scores[s] - largest) / total : 0;
      EXPECT_NEAR(weights[b * S + s], (double)expected, tolerance)
          << "weights[" << b << ", " << s << "]";
    }
  }
  for (int64_t s = 0; s < S; ++s)
    EXPECT_EQ(weights[1 * S + s], 0.0);
  for (int64_t d = 0; d < D; ++d) {
    EXPECT_EQ(readOut[1 * D + d], 0.0);
    EXPECT_EQ(run.gradient("q")[1 * D + d], 0.0);
  }
  for (int64_t i = S * D; i < 2 * S * D; ++i)
    EXPECT_EQ(run.gradient("keys")[i], 0.0);
}

// Logits of magnitude 1e4: exp overflows unless the row maximum is taken
// out first. The loss is CE(z, y) - mean(log_softmax(z)), whose gradient is
// 2 softmax(z) - onehot(y) - 1/V.
TEST_P(Numerics, LogitsOfMagnitude1e4StayFiniteAndCorrect) {
  const int64_t B = 4, V = 5;
  std::mt19937_64 rng(9);
  std::vector<double> z = normals(B * V, rng, 1e4);
  std::vector<int64_t> y = {0, 3, 4, 1};
  ModelRun run("large_logits.weft",
               {{"z", NpyArray::fromDoubles({B, V}, z)},
                {"y", NpyArray::fromInt64s({B}, y)}},
               GetParam());
  std::vector<double> p = run.output("p");
  std::vector<double> logP = run.output("log_p");
  std::vector<double> loss = run.output("loss");
  std::vector<double> gradient = run.gradient("z");
  expectAllFinite(p, "p");
  expectAllFinite(logP, "log_p");
  expectAllFinite(loss, "loss");
  expectAllFinite(gradient, "grad_z");

  bool f64 = std::string(GetParam()) == "f64";
  long double expectedLoss = 0;
  for (int64_t b = 0; b < B; ++b) {
    long double largest = -INFINITY, total = 0, mean = 0;
    for (int64_t v = 0; v < V; ++v)
      largest = std::max<long double>(largest, z[b * V + v]);
    for (int64_t v = 0; v < V; ++v) {
      total += std::exp((long double)z[b * V + v] - largest);
      mean += (long double)z[b * V + v] / V;
    }
    long double logSumExp = largest + std::log(total);
    expectedLoss += 2 * logSumExp - z[b * V + y[b]] - mean;
    for (int64_t v = 0; v < V; ++v) {
      long double logProbability = z[b * V + v] - logSumExp;
      long double probability = std::exp(logProbability);
      long double expectedGradient =
          2 * probability - (v == y[b] ? 1 : 0) - 1.0L / V;
      // Relative to the logits' size, as float rounding of 1e4 allows.
      EXPECT_NEAR(logP[b * V + v], (double)logProbability, f64 ? 1e-9 : 2e-2);
      EXPECT_NEAR(p[b * V + v], (double)probability, f64 ? 1e-12 : 1e-5);
      EXPECT_NEAR(gradient[b * V + v], (double)expectedGradient,
                  f64 ? 1e-12 : 1e-5);
    }
  }
  EXPECT_NEAR(loss[0], (double)expectedLoss,
              (f64 ? 1e-12 : 1e-6) * std::abs((double)expectedLoss));
}

// A padded batch of sequences of lengths 5, 3 and 1 gives, for each
// example, the states, loss and gradients of that example run alone at its
// own length: padded steps change no state (forward or backward), so that
// `h[T - 1]` and `b[0]` are the example's own ends, and add nothing to the
// loss.
TEST_P(Numerics, PaddedStepsChangeNothing) {
  const int64_t T = 5, B = 3, I = 2, H = 3;
  const std::vector<int64_t> lengths = {5, 3, 1};
  std::mt19937_64 rng(13);
  std::vector<double> x = normals(T * B * I, rng, 1);
  std::map<std::string, NpyArray> params = {
      {"W", NpyArray::fromDoubles({H, I}, normals(H * I, rng, 0.7))},
      {"U", NpyArray::fromDoubles({H, H}, normals(H * H, rng, 0.7))}};
  ModelRun padded("lengths.weft",
                  {{"x", NpyArray::fromDoubles({T, B, I}, x)},
                   {"len", NpyArray::fromInt64s({B}, lengths)}},
                  GetParam(), params);
  bool f64 = std::string(GetParam()) == "f64";
  double tolerance = f64 ? 1e-12 : 1e-5;
  std::vector<double> hs = padded.output("hs"), bs = padded.output("bs");
  std::vector<double> gradX = padded.gradient("x");
  std::vector<double> meanLoss(1, 0), meanGradW(H * I, 0), meanGradU(H * H, 0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t steps = lengths[b];
    std::vector<double> alone;
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t i = 0; i < I; ++i)
        alone.push_back(x[(t * B + b) * I + i]);
    ModelRun single("unpadded.weft",
                    {{"x", NpyArray::fromDoubles({steps, 1, I}, alone)}},
                    GetParam(), params);
    std::vector<double> singleH = single.output("hs");
    std::vector<double> singleB = single.output("bs");
    std::vector<double> singleGradX = single.gradient("x");
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t k = 0; k < H; ++k) {
        EXPECT_NEAR(hs[(t * B + b) * H + k], singleH[t * H + k], tolerance)
            << "h[" << t << "] of example " << b;
        EXPECT_NEAR(bs[(t * B + b) * H + k], singleB[t * H + k], tolerance)
            << "b[" << t << "] of example " << b;
      }
      for (int64_t i = 0; i < I; ++i)
        EXPECT_NEAR(gradX[(t * B + b) * I + i], singleGradX[t * I + i] / B,
                    tolerance)
            << "d loss / d x[" << t << "] of example " << b;
    }
    for (int64_t t = steps; t < T; ++t) {
      for (int64_t i = 0; i < I; ++i)
        EXPECT_EQ(gradX[(t * B + b) * I + i], 0.0)
            << "padded step " << t << " of example " << b;
      for (int64_t k = 0; k < H; ++k) {
        EXPECT_EQ(hs[(t * B + b) * H + k], hs[((steps - 1) * B + b) * H + k])
            << "h keeps its last state at padded step " << t;
        EXPECT_EQ(bs[(t * B + b) * H + k], 0.0)
            << "b keeps its initial value at padded step " << t;
      }
    }
    for (int64_t k = 0; k < H; ++k) {
      EXPECT_NEAR(padded.output("hT")[b * H + k], single.output("hT")[k],
                  tolerance)
          << "h[T - 1] of example " << b;
      EXPECT_NEAR(padded.output("b0")[b * H + k], single.output("b0")[k],
                  tolerance)
          << "b[0] of example " << b;
      EXPECT_NEAR(padded.output("hmax")[b * H + k], single.output("hmax")[k],
                  tolerance)
          << "max(t) h[t] of example " << b;
    }
    meanLoss[0] += single.output("loss")[0] / B;
    for (int64_t i = 0; i < H * I; ++i)
      meanGradW[i] += single.gradient("W")[i] / B;
    for (int64_t i = 0; i < H * H; ++i)
      meanGradU[i] += single.gradient("U")[i] / B;
  }
  EXPECT_NEAR(padded.output("loss")[0], meanLoss[0], tolerance);
  for (int64_t i = 0; i < H * I; ++i)
    EXPECT_NEAR(padded.gradient("W")[i], meanGradW[i], tolerance);
  for (int64_t i = 0; i < H * H; ++i)
    EXPECT_NEAR(padded.gradient("U")[i], meanGradU[i], tolerance);
}

// A recurrence read one step back outside its own equation sees its own
// previous step, and its initial value before the first.
TEST_P(Numerics, RecurrenceReadOneStepBackElsewhere) {
  const int64_t T = 4, B = 2, H = 3;
  std::mt19937_64 rng(17);
  std::vector<double> h0 = normals(B * H, rng, 1);
  std::vector<double> b0 = normals(B * H, rng, 1);
  ModelRun run(
      "shifted.weft",
      {{"x", NpyArray::fromDoubles({T, B, H}, normals(T * B * H, rng, 1))},
       {"h0", NpyArray::fromDoubles({B, H}, h0)},
       {"b0", NpyArray::fromDoubles({B, H}, b0)}},
      GetParam(), {});
  std::vector<double> hs = run.output("hs"), bs = run.output("bs");
  std::vector<double> previous = run.output("previous");
  std::vector<double> next = run.output("next");
  const int64_t step = B * H;
  for (int64_t i = 0; i < step; ++i) {
    EXPECT_EQ(previous[i], h0[i]) << "h[-1]";
    EXPECT_EQ(next[(T - 1) * step + i], b0[i]) << "b[T]";
    for (int64_t t = 1; t < T; ++t) {
      EXPECT_EQ(previous[t * step + i], hs[(t - 1) * step + i]) << t;
      EXPECT_EQ(next[(t - 1) * step + i], bs[t * step + i]) << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, Numerics, testing::Values("f64", "f32"));

} // namespace
