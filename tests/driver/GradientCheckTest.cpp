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
        "--grads '{}' --dtype f64",
        WEFT_BINARY, WEFT_GRADCHECK_DIR, model, (work / "params").string(),
        (work / "inputs").string(), (work / "outputs").string(),
        (work / "grads").string());
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read(work / "outputs" / "loss.npy")[0];
  }

  /// Checks a few elements of the gradient of each float array.
  void checkAll() {
    run();
    std::map<std::string, std::vector<double>> gradients;
    for (auto *arrays : {&params, &inputs})
      for (const auto &[name, array] : *arrays)
        if (!array.isToken)
          gradients[name] = read(work / "grads" / ("grad_" + name + ".npy"));
    for (auto *arrays : {&params, &inputs})
      for (auto &[name, array] : *arrays)
        if (!array.isToken)
          checkArray(name, array, gradients.at(name));
  }

private:
  void checkArray(const std::string &name, Array &array,
                  const std::vector<double> &gradient) {
    ASSERT_EQ(gradient.size(), array.values.size()) << name;
    const double step = 1e-5;
    size_t stride = std::max<size_t>(1, array.values.size() / 3);
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

} // namespace
