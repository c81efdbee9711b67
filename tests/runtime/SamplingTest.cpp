// Tests of temperature sampling: argmax at temperature 0, frequencies that
// follow the softmax, masked logits, determinism and errors.

#include "runtime/Sampling.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace weft::runtime;

namespace {

std::vector<double> frequencies(const std::vector<double> &logits,
                                double temperature, int draws) {
  std::mt19937_64 rng(42);
  std::vector<double> counts(logits.size());
  for (int i = 0; i < draws; ++i) {
    std::optional<int64_t> index =
        sampleIndex(logits, temperature, rng, nullptr);
    EXPECT_TRUE(index);
    counts[*index] += 1.0 / draws;
  }
  return counts;
}

} // namespace

TEST(Sampling, TemperatureZeroTakesTheFirstLargest) {
  std::vector<double> logits = {0.1, 2.0, -1.0, 2.0};
  std::mt19937_64 rng(1);
  EXPECT_EQ(sampleIndex(logits, 0.0, rng, nullptr), 1);
  std::vector<float> floats = {-3.0f, -1.0f, -2.0f};
  EXPECT_EQ(sampleIndex(floats, 0.0, rng, nullptr), 1);
}

TEST(Sampling, FrequenciesFollowTheSoftmax) {
  std::vector<double> p = {0.2, 0.3, 0.5};
  std::vector<double> logits = {std::log(p[0]), std::log(p[1]), std::log(p[2])};
  std::vector<double> seen = frequencies(logits, 1.0, 100000);
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_NEAR(seen[i], p[i], 0.01);

  // Temperature 2 takes square roots of the probabilities, renormalised.
  double total = std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.5);
  seen = frequencies(logits, 2.0, 100000);
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_NEAR(seen[i], std::sqrt(p[i]) / total, 0.01);
}

TEST(Sampling, MaskedLogitsAreNeverDrawn) {
  std::vector<double> logits = {-INFINITY, 0.0, -INFINITY, 0.0};
  std::vector<double> seen = frequencies(logits, 1.0, 2000);
  EXPECT_EQ(seen[0], 0.0);
  EXPECT_EQ(seen[2], 0.0);
  EXPECT_NEAR(frequencies({1.0, 5.0}, 1e-3, 100)[1], 1.0, 1e-9);
}

TEST(Sampling, SeedsAreDeterministic) {
  std::vector<double> logits = {0.0, 0.5, 1.0, 1.5};
  std::mt19937_64 first(9), second(9);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(sampleIndex(logits, 1.0, first, nullptr),
              sampleIndex(logits, 1.0, second, nullptr));
}

TEST(Sampling, ReportsBadInput) {
  std::mt19937_64 rng(1);
  std::string error;
  EXPECT_FALSE(sampleIndex(std::vector<double>{}, 1.0, rng, &error));
  EXPECT_FALSE(sampleIndex(std::vector<double>{1.0}, -1.0, rng, &error));
  EXPECT_FALSE(sampleIndex(std::vector<double>{1.0}, NAN, rng, &error));
  EXPECT_FALSE(sampleIndex(std::vector<double>{NAN, 1.0}, 1.0, rng, &error));
  EXPECT_NE(error.find("logit 0 is nan"), std::string::npos);
  EXPECT_FALSE(sampleIndex(std::vector<double>{-INFINITY}, 1.0, rng, &error));
  EXPECT_EQ(error, "sampling: every logit is -inf");
}
