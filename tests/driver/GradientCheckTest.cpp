// Finite-difference checks, in float64, of the gradients `weft run` writes
// for models that use every operation of the language: each checked
// element's gradient is compared with (L(p + h) - L(p - h)) / 2h, where
// each loss comes from running the compiled model again.
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

struct Array {
  std::vector<int64_t> shape;
  std::vector<double> values;
  bool isToken = false;
};

/// A model with its arrays, run through `weft run` in a folder of its own.
class GradientCheck {
public:
  GradientCheck(std::string model, std::map<std::string, Array> params,
                std::map<std::string, Array> inputs)
      : model(std::move(model)), params(std::move(params)),
        inputs(std::move(inputs)),
        work(fs::temp_directory_path() /
             fmt::format("weft-gradcheck-{}", getpid())) {}
  ~GradientCheck() { fs::remove_all(work); }

  /// Runs the model on the current arrays; returns the loss.
  double run() {
    fs::remove_all(work);
    write(params, work / "params");
    write(inputs, work / "inputs");
    std::string command = fmt::format(
        "'{}' run '{}/{}' --params '{}' --inputs '{}' --outputs '{}' "
        "--grads '{}' --dtype f64 --opt-level 0",
        WEFT_BINARY, WEFT_GRADCHECK_DIR, model, (work / "params").string(),
        (work / "inputs").string(), (work / "outputs").string(),
        (work / "grads").string());
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read(work / "outputs" / "loss.npy")[0];
  }

  /// Checks a few elements of the gradient of each float array, about
  /// `samplesPerArray` of each, spread over it; every check runs the model
  /// twice, so models with many arrays check fewer of each.
  void checkAll(size_t samplesPerArray = 3) {
    run();
    std::map<std::string, std::vector<double>> gradients;
    for (auto *arrays : {&params, &inputs})
      for (const auto &[name, array] : *arrays)
        if (!array.isToken)
          gradients[name] = read(work / "grads" / ("grad_" + name + ".npy"));
    for (auto *arrays : {&params, &inputs})
      for (auto &[name, array] : *arrays)
        if (!array.isToken)
          checkArray(name, array, gradients.at(name), samplesPerArray);
  }

private:
  void checkArray(const std::string &name, Array &array,
                  const std::vector<double> &gradient, size_t samples) {
    ASSERT_EQ(gradient.size(), array.values.size()) << name;
    const double step = 1e-5;
    size_t stride = std::max<size_t>(1, array.values.size() / samples);
    for (size_t i = 0; i < array.values.size(); i += stride) {
      double original = array.values[i];
      array.values[i] = original + step;
      double above = run();
      array.values[i] = original - step;
      double below = run();
      array.values[i] = original;
      double numeric = (above - below) / (2 * step);
      EXPECT_NEAR(gradient[i], numeric, 1e-6 + 1e-5 * std::abs(numeric))
          << "d loss / d " << name << "[" << i << "]";
    }
  }

  static void write(const std::map<std::string, Array> &arrays,
                    const fs::path &dir) {
    fs::create_directories(dir);
    for (const auto &[name, array] : arrays) {
      std::vector<int64_t> ids(array.values.begin(), array.values.end());
      NpyArray npy = array.isToken
                         ? NpyArray::fromInt64s(array.shape, ids)
                         : NpyArray::fromDoubles(array.shape, array.values);
      std::string error;
      ASSERT_TRUE(weft::runtime::writeNpy((dir / (name + ".npy")).string(), npy,
                                          &error))
          << error;
    }
  }

  static std::vector<double> read(const fs::path &path) {
    std::string error;
    auto array = weft::runtime::readNpy(path.string(), &error);
    EXPECT_TRUE(array) << error;
    return array ? array->toDoubles() : std::vector<double>{0};
  }

  std::string model;
  std::map<std::string, Array> params, inputs;
  fs::path work;
};

Array randomArray(std::vector<int64_t> shape, std::mt19937_64 &rng,
                  double scale = 0.5) {
  Array array{shape, {}, false};
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  std::normal_distribution<double> normal(0.0, scale);
  for (int64_t i = 0; i < count; ++i)
    array.values.push_back(normal(rng));
  return array;
}

TEST(GradientCheck, EveryElementwiseOperation) {
  std::mt19937_64 rng(7);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  GradientCheck check(
      "operations.weft",
      {{"W", randomArray({H, I}, rng)},
       {"U", randomArray({H, H}, rng)},
       {"b", randomArray({H}, rng)},
       {"c", randomArray({2 * H}, rng)}},
      {{"x", randomArray({T, B, I}, rng)}, {"h0", randomArray({B, H}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, TokensGatherAndCrossEntropy) {
  std::mt19937_64 rng(11);
  const int64_t V = 5, T = 3, B = 2, E = 3, H = 4;
  Array text{{T + 1, B}, {}, true};
  for (int64_t i = 0; i < (T + 1) * B; ++i)
    text.values.push_back(static_cast<double>(rng() % V));
  GradientCheck check("tokens.weft",
                      {{"emb", randomArray({V, E}, rng)},
                       {"W", randomArray({H, E}, rng)},
                       {"U", randomArray({H, H}, rng)},
                       {"W_out", randomArray({V, H}, rng)},
                       {"b_out", randomArray({V}, rng)}},
                      {{"text", text}});
  check.checkAll();
}

// The standard library's cells, each in a model of its own under
// gradcheck/, so that every parameter's gradient is checked.

using Arrays = std::map<std::string, Array>;

/// An array of the given values, for masks and rates that random normal
/// values would not fit.
Array fixedArray(std::vector<int64_t> shape, std::vector<double> values) {
  return Array{std::move(shape), std::move(values), false};
}

/// The weights of a cell with one matrix per gate, named as the standard
/// library's LSTM and GRU name them: W_i<gate> [H, I], W_h<gate> [H, H],
/// b_i<gate> and b_h<gate> [H] for each gate letter, under `prefix`.
void addGateWeights(Arrays &params, const std::string &prefix,
                    const std::string &gates, int64_t I, int64_t H,
                    std::mt19937_64 &rng) {
  for (char gate : gates) {
    params[fmt::format("{}W_i{}", prefix, gate)] = randomArray({H, I}, rng);
    params[fmt::format("{}W_h{}", prefix, gate)] = randomArray({H, H}, rng);
    params[fmt::format("{}b_i{}", prefix, gate)] = randomArray({H}, rng);
    params[fmt::format("{}b_h{}", prefix, gate)] = randomArray({H}, rng);
  }
}

TEST(GradientCheck, StdGRUCho) {
  std::mt19937_64 rng(13);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  Arrays params;
  addGateWeights(params, "", "rzn", I, H, rng);
  GradientCheck check("gru_cho.weft", params,
                      {{"x", randomArray({T, B, I}, rng)},
                       {"h0", randomArray({B, H}, rng)},
                       {"G", randomArray({T, B, H}, rng)}});
  check.checkAll(2);
}

TEST(GradientCheck, StdLayerNorm) {
  std::mt19937_64 rng(17);
  const int64_t B = 2, H = 5;
  GradientCheck check(
      "layer_norm.weft",
      {{"norm.g", randomArray({H}, rng)}, {"norm.b", randomArray({H}, rng)}},
      {{"x", randomArray({B, H}, rng)}, {"G", randomArray({B, H}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdLayerNormLSTM) {
  std::mt19937_64 rng(19);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  Arrays params = {{"W_x", randomArray({4 * H, I}, rng)},
                   {"W_h", randomArray({4 * H, H}, rng)},
                   {"b", randomArray({4 * H}, rng)},
                   {"ln_c.g", randomArray({H}, rng)},
                   {"ln_c.b", randomArray({H}, rng)}};
  for (const char *norm : {"ln_x", "ln_h"}) {
    params[fmt::format("{}.g", norm)] = randomArray({4 * H}, rng);
    params[fmt::format("{}.b", norm)] = randomArray({4 * H}, rng);
  }
  GradientCheck check("layer_norm_lstm.weft", params,
                      {{"x", randomArray({T, B, I}, rng)},
                       {"h0", randomArray({B, H}, rng)},
                       {"c0", randomArray({B, H}, rng)},
                       {"G", randomArray({T, B, H}, rng)},
                       {"G_c", randomArray({B, H}, rng)}});
  check.checkAll(1);
}

TEST(GradientCheck, StdDotProductAttention) {
  std::mt19937_64 rng(23);
  const int64_t B = 2, S = 4, D = 3, Dv = 2;
  // The second example masks every key: its weights and read-out are zero.
  GradientCheck check("dot_product_attention.weft", {},
                      {{"q", randomArray({B, D}, rng)},
                       {"keys", randomArray({B, S, D}, rng)},
                       {"values", randomArray({B, S, Dv}, rng)},
                       {"mask", fixedArray({B, S}, {1, 0, 1, 1, 0, 0, 0, 0})},
                       {"G", randomArray({B, Dv}, rng)},
                       {"G_w", randomArray({B, S}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdAdditiveAttention) {
  std::mt19937_64 rng(29);
  const int64_t B = 2, S = 4, Q = 3, K = 2, Dv = 3, A = 5;
  GradientCheck check("additive_attention.weft",
                      {{"att.W", randomArray({A, Q}, rng)},
                       {"att.U", randomArray({A, K}, rng)},
                       {"att.b", randomArray({A}, rng)},
                       {"att.v", randomArray({A}, rng)}},
                      {{"q", randomArray({B, Q}, rng)},
                       {"keys", randomArray({B, S, K}, rng)},
                       {"values", randomArray({B, S, Dv}, rng)},
                       {"G", randomArray({B, Dv}, rng)},
                       {"G_w", randomArray({B, S}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdMultiHeadAttention) {
  std::mt19937_64 rng(31);
  const int64_t B = 2, S = 3, E = 4, K = 3, Dv = 5, heads = 2;
  GradientCheck check("multi_head_attention.weft",
                      {{"mha.W_q", randomArray({E, E}, rng)},
                       {"mha.W_k", randomArray({E, K}, rng)},
                       {"mha.W_v", randomArray({E, Dv}, rng)},
                       {"mha.W_o", randomArray({E, E}, rng)},
                       {"mha.b_q", randomArray({heads, E / heads}, rng)},
                       {"mha.b_k", randomArray({heads, E / heads}, rng)},
                       {"mha.b_v", randomArray({heads, E / heads}, rng)},
                       {"mha.b_o", randomArray({E}, rng)}},
                      {{"q", randomArray({B, E}, rng)},
                       {"keys", randomArray({B, S, K}, rng)},
                       {"values", randomArray({B, S, Dv}, rng)},
                       {"G", randomArray({B, E}, rng)},
                       {"G_w", randomArray({B, heads, S}, rng)}});
  check.checkAll(2);
}

TEST(GradientCheck, StdCausalConv) {
  std::mt19937_64 rng(37);
  const int64_t T = 4, B = 2, I = 3, O = 2;
  GradientCheck check(
      "causal_conv.weft",
      {{"conv.W0", randomArray({O, I}, rng)},
       {"conv.W1", randomArray({O, I}, rng)},
       {"conv.W2", randomArray({O, I}, rng)},
       {"conv.b", randomArray({O}, rng)}},
      {{"x", randomArray({T, B, I}, rng)}, {"G", randomArray({T, B, O}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdZoneout) {
  std::mt19937_64 rng(41);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  std::vector<double> mask;
  for (int64_t i = 0; i < T * B * H; ++i)
    mask.push_back(static_cast<double>(rng() % 2));
  GradientCheck check("zoneout.weft",
                      {{"W_ih", randomArray({H, I}, rng)},
                       {"W_hh", randomArray({H, H}, rng)},
                       {"b_ih", randomArray({H}, rng)},
                       {"b_hh", randomArray({H}, rng)}},
                      {{"x", randomArray({T, B, I}, rng)},
                       {"mask", fixedArray({T, B, H}, mask)},
                       {"h0", randomArray({B, H}, rng)},
                       {"G", randomArray({T, B, H}, rng)}});
  check.checkAll();
}

// `h[t - 1]` and `b[t + 1]` read outside their own recurrences: the shifted
// streams start from the initial values, whose gradients flow back too.
TEST(GradientCheck, RecurrencesReadOneStepBackElsewhere) {
  std::mt19937_64 rng(43);
  const int64_t T = 4, B = 2, H = 3;
  GradientCheck check(
      "shifted_recurrence.weft", {{"W", randomArray({H, H}, rng)}},
      {{"x", randomArray({T, B, H}, rng)}, {"h0", randomArray({B, H}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdZoneoutExpected) {
  std::mt19937_64 rng(43);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  GradientCheck check("zoneout_expected.weft",
                      {{"W_ih", randomArray({H, I}, rng)},
                       {"W_hh", randomArray({H, H}, rng)},
                       {"b_ih", randomArray({H}, rng)},
                       {"b_hh", randomArray({H}, rng)}},
                      {{"x", randomArray({T, B, I}, rng)},
                       {"p", fixedArray({B}, {0.1, 0.3})},
                       {"h0", randomArray({B, H}, rng)},
                       {"G", randomArray({T, B, H}, rng)}});
  check.checkAll();
}

TEST(GradientCheck, StdTwoLayerLSTM) {
  std::mt19937_64 rng(47);
  const int64_t T = 3, B = 2, I = 3, H1 = 4, H2 = 2;
  Arrays params;
  addGateWeights(params, "l1.", "ifgo", I, H1, rng);
  addGateWeights(params, "l2.", "ifgo", H1, H2, rng);
  GradientCheck check("two_layer_lstm.weft", params,
                      {{"x", randomArray({T, B, I}, rng)},
                       {"G", randomArray({T, B, H2}, rng)},
                       {"G_c", randomArray({B, H1}, rng)}});
  check.checkAll(1);
}

TEST(GradientCheck, StdTwoLayerGRU) {
  std::mt19937_64 rng(53);
  const int64_t T = 3, B = 2, I = 3, H1 = 4, H2 = 2;
  Arrays params;
  addGateWeights(params, "l1.", "rzn", I, H1, rng);
  addGateWeights(params, "l2.", "rzn", H1, H2, rng);
  GradientCheck check("two_layer_gru.weft", params,
                      {{"x", randomArray({T, B, I}, rng)},
                       {"G", randomArray({T, B, H2}, rng)},
                       {"G_h", randomArray({B, H1}, rng)}});
  check.checkAll(1);
}

TEST(GradientCheck, StdNTMHeadsThroughAWrittenMemory) {
  std::mt19937_64 rng(59);
  const int64_t T = 3, B = 2, I = 2, C = 3, N = 4, W = 3;
  Arrays params{{"U", randomArray({C, I + W}, rng)}};
  for (const char *head : {"reader.", "writer."}) {
    params[fmt::format("{}W_head", head)] = randomArray({W + 6, C}, rng);
    params[fmt::format("{}b_head", head)] = randomArray({W + 6}, rng);
  }
  for (const char *name : {"writer.E", "writer.A"})
    params[name] = randomArray({W, C}, rng);
  for (const char *name : {"writer.b_e", "writer.b_a"})
    params[name] = randomArray({W}, rng);
  GradientCheck check("ntm_heads.weft", params,
                      {{"x", randomArray({T, B, I}, rng)},
                       {"M0", randomArray({B, N, W}, rng)},
                       {"wr0", randomArray({B, N}, rng)},
                       {"ww0", randomArray({B, N}, rng)},
                       {"G", randomArray({T, B, W}, rng)},
                       {"G_M", randomArray({B, N, W}, rng)}});
  check.checkAll(1);
}

TEST(GradientCheck, TensorOperationsAndIndexNotation) {
  std::mt19937_64 rng(17);
  const int64_t T = 3, B = 2, I = 3, H = 4;
  GradientCheck check("tensor_ops.weft",
                      {{"W", randomArray({H, I}, rng)},
                       {"A", randomArray({H, H, I}, rng)},
                       {"v", randomArray({H}, rng)}},
                      {{"x", randomArray({T, B, I}, rng)},
                       {"M", randomArray({B, H, I}, rng)},
                       {"h0", randomArray({B, H}, rng)}});
  check.checkAll();
}

} // namespace
