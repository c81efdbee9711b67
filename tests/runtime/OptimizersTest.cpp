// Tests of SGD, Adam and gradient clipping against the update formulas
// worked by hand (or evaluated here step by step) on tiny tensors.

#include "runtime/Optimizers.h"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>

using namespace weft::runtime;

namespace {

template <typename Real>
std::vector<TrainedTensor<Real>> tensorsOf(std::vector<Real> &value,
                                           std::vector<Real> &gradient) {
  return {{value, gradient}};
}

} // namespace

TEST(Sgd, PlainStep) {
  std::vector<double> value = {1.0, -2.0}, gradient = {0.5, 4.0};
  Sgd<double> sgd({.learningRate = 0.1});
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  EXPECT_DOUBLE_EQ(value[0], 1.0 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(value[1], -2.0 - 0.1 * 4.0);
}

TEST(Sgd, MomentumStartsFromTheFirstGradient) {
  // buf1 = g1; p1 = p0 - lr g1; buf2 = 0.9 buf1 + g2; p2 = p1 - lr buf2.
  std::vector<double> value = {1.0}, gradient = {2.0};
  Sgd<double> sgd({.learningRate = 0.1, .momentum = 0.9});
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  EXPECT_DOUBLE_EQ(value[0], 1.0 - 0.1 * 2.0);
  gradient[0] = -1.0;
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  EXPECT_DOUBLE_EQ(value[0], 0.8 - 0.1 * (0.9 * 2.0 + -1.0));
}

TEST(Sgd, NesterovDampeningAndWeightDecay) {
  // d = g + wd p; buf1 = d1; step = d + m buf.
  // Later: buf2 = m buf1 + (1 - dampening) d2.
  double p = 1.0, lr = 0.1, m = 0.5, wd = 0.2, damp = 0.25;
  std::vector<double> value = {p}, gradient = {3.0};
  Sgd<double> sgd({.learningRate = lr,
                   .momentum = m,
                   .dampening = damp,
                   .weightDecay = wd,
                   .nesterov = true});
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  double d1 = 3.0 + wd * p, buffer = d1;
  p -= lr * (d1 + m * buffer);
  EXPECT_DOUBLE_EQ(value[0], p);
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  double d2 = 3.0 + wd * p;
  buffer = m * buffer + (1 - damp) * d2;
  p -= lr * (d2 + m * buffer);
  EXPECT_DOUBLE_EQ(value[0], p);
}

TEST(Adam, TwoStepsOnAScalar) {
  double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double p = 0.5, m = 0, v = 0;
  std::vector<double> value = {p}, gradient = {0};
  Adam<double> adam({.learningRate = lr});
  for (int t = 1; t <= 2; ++t) {
    double g = t == 1 ? 0.3 : -1.2;
    gradient[0] = g;
    ASSERT_TRUE(adam.step(tensorsOf(value, gradient), nullptr));
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    double mHat = m / (1 - std::pow(b1, t));
    double vHat = v / (1 - std::pow(b2, t));
    p -= lr * mHat / (std::sqrt(vHat) + eps);
    EXPECT_NEAR(value[0], p, 1e-15) << "step " << t;
  }
  EXPECT_EQ(adam.stepCount(), 2);
}

TEST(Adam, FirstStepMovesByTheLearningRate) {
  // m_hat = g and v_hat = g^2, so the first step is lr * g / (|g| + eps).
  std::vector<float> value = {1.0f, 1.0f}, gradient = {5.0f, -0.01f};
  Adam<float> adam({.learningRate = 0.1});
  ASSERT_TRUE(adam.step(tensorsOf(value, gradient), nullptr));
  EXPECT_NEAR(value[0], 0.9f, 1e-6f);
  EXPECT_NEAR(value[1], 1.1f, 1e-5f);
}

TEST(Adam, WeightDecayAddsToTheGradient) {
  std::vector<double> value = {2.0}, gradient = {0.0};
  Adam<double> adam({.learningRate = 0.1, .weightDecay = 0.5});
  ASSERT_TRUE(adam.step(tensorsOf(value, gradient), nullptr));
  // g = 0 + 0.5 * 2 = 1: the first step is lr * 1 / (1 + eps).
  EXPECT_NEAR(value[0], 2.0 - 0.1 / (1 + 1e-8), 1e-15);
}

TEST(AdamW, DecayShrinksTheParameterBeforeTheUpdate) {
  // p = 2, g = 0.5: p * (1 - lr * wd) first, then Adam's first step, which
  // moves by lr * g / (|g| + eps) whatever the decay.
  std::vector<double> value = {2.0}, gradient = {0.5};
  Adam<double> adamw(
      {.learningRate = 0.1, .weightDecay = 0.5, .decoupledWeightDecay = true});
  ASSERT_TRUE(adamw.step(tensorsOf(value, gradient), nullptr));
  EXPECT_NEAR(value[0], 2.0 * (1 - 0.1 * 0.5) - 0.1 * 0.5 / (0.5 + 1e-8),
              1e-15);
}

TEST(AdamW, WithoutDecayIsAdam) {
  std::vector<float> a = {1.0f, -2.0f}, b = a, gradient = {0.3f, -0.7f};
  Adam<float> adam({.learningRate = 0.01});
  Adam<float> adamw({.learningRate = 0.01, .decoupledWeightDecay = true});
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(adam.step(tensorsOf(a, gradient), nullptr));
    ASSERT_TRUE(adamw.step(tensorsOf(b, gradient), nullptr));
  }
  EXPECT_EQ(a, b);
}

TEST(Optimizers, SetLearningRateTakesEffectAtTheNextStep) {
  std::vector<double> value = {1.0}, gradient = {2.0};
  Sgd<double> sgd({.learningRate = 0.1});
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  sgd.setLearningRate(0.01);
  ASSERT_TRUE(sgd.step(tensorsOf(value, gradient), nullptr));
  EXPECT_NEAR(value[0], 1.0 - 0.1 * 2 - 0.01 * 2, 1e-15);
}

TEST(Adam, RejectsChangingTensors) {
  std::vector<double> a = {1, 2}, ga = {1, 1}, b = {3}, gb = {1};
  std::vector<TrainedTensor<double>> two = {{a, ga}, {b, gb}};
  std::vector<TrainedTensor<double>> one = {{a, ga}};
  std::vector<TrainedTensor<double>> mismatched = {{a, gb}};
  Adam<double> adam;
  std::string error;
  EXPECT_FALSE(adam.step(mismatched, &error));
  EXPECT_NE(error.find("2 values but 1 gradients"), std::string::npos);
  ASSERT_TRUE(adam.step(two, &error));
  EXPECT_FALSE(adam.step(one, &error));
  EXPECT_NE(error.find("1 tensors given, state holds 2"), std::string::npos);
  adam.reset();
  EXPECT_TRUE(adam.step(one, &error));
  EXPECT_EQ(adam.stepCount(), 1);
}

TEST(ClipGradientNorm, ScalesOnlyAboveTheLimit) {
  std::vector<double> a = {0}, ga = {3}, b = {0, 0}, gb = {0, 4};
  std::vector<TrainedTensor<double>> tensors = {{a, ga}, {b, gb}};
  EXPECT_DOUBLE_EQ(clipGradientNorm<double>(tensors, 10.0), 5.0);
  EXPECT_EQ(ga[0], 3.0);
  EXPECT_EQ(gb[1], 4.0);

  EXPECT_DOUBLE_EQ(clipGradientNorm<double>(tensors, 1.0), 5.0);
  double coefficient = 1.0 / (5.0 + 1e-6);
  EXPECT_DOUBLE_EQ(ga[0], 3.0 * coefficient);
  EXPECT_DOUBLE_EQ(gb[1], 4.0 * coefficient);
  EXPECT_EQ(gb[0], 0.0);
}

TEST(ClipGradientNorm, WorksOnFloats) {
  std::vector<float> a = {0, 0}, ga = {6, 8};
  std::vector<TrainedTensor<float>> tensors = {{a, ga}};
  EXPECT_NEAR(clipGradientNorm<float>(tensors, 5.0), 10.0, 1e-6);
  EXPECT_NEAR(ga[0], 3.0f, 1e-5f);
  EXPECT_NEAR(ga[1], 4.0f, 1e-5f);
}

TEST(ClipCoefficient, IsTorchsFormula) {
  // min(1, max / (norm + 1e-6)): the 1e-6 clips a norm exactly at the limit.
  EXPECT_EQ(clipCoefficient(5.0, 1.0), 1.0 / (5.0 + 1e-6));
  EXPECT_EQ(clipCoefficient(1.0, 1.0), 1.0 / (1.0 + 1e-6));
  EXPECT_LT(clipCoefficient(1.0, 1.0), 1.0);
  EXPECT_EQ(clipCoefficient(0.5, 1.0), 1.0);
  EXPECT_EQ(clipCoefficient(0.0, 1.0), 1.0);
  EXPECT_TRUE(std::isnan(clipCoefficient(std::nan(""), 1.0)));
}

TEST(GlobalGradientNorm, CoversEveryTensorAndChangesNothing) {
  std::vector<double> a = {0, 0}, ga = {1, 2}, b = {0}, gb = {-2};
  std::vector<TrainedTensor<double>> tensors = {{a, ga}, {b, gb}};
  EXPECT_DOUBLE_EQ(globalGradientNorm<double>(tensors), 3.0);
  EXPECT_EQ(ga[1], 2.0);
  EXPECT_EQ(gb[0], -2.0);
}

TEST(ClipGradientNorm, ClipsANormEqualToTheLimit) {
  std::vector<double> a = {0}, ga = {1};
  std::vector<TrainedTensor<double>> tensors = {{a, ga}};
  EXPECT_EQ(clipGradientNorm<double>(tensors, 1.0), 1.0);
  EXPECT_EQ(ga[0], 1.0 * (1.0 / (1.0 + 1e-6)));
}

TEST(Sgd, MomentumBufferStartsAsTheFirstClippedGradient) {
  // The optim_sgd_clip_charlm recipe: clip to 1, then SGD with momentum 0.9;
  // buf_1 = c_1 g_1 (not (1 - momentum) c_1 g_1), buf_k = 0.9 buf + c_k g_k.
  double lr = 0.5, momentum = 0.9;
  std::vector<std::vector<double>> gradients = {{3, 4}, {0.6, 0.8}, {0, 0.5}};
  std::vector<double> value = {1, -1}, gradient(2);
  std::vector<double> expected = value, buffer(2);
  std::vector<TrainedTensor<double>> tensors = {{value, gradient}};
  Sgd<double> sgd({.learningRate = lr, .momentum = momentum});
  for (size_t k = 0; k < gradients.size(); ++k) {
    gradient = gradients[k];
    double norm = std::sqrt(gradients[k][0] * gradients[k][0] +
                            gradients[k][1] * gradients[k][1]);
    double coefficient = std::min(1.0, 1.0 / (norm + 1e-6));
    EXPECT_DOUBLE_EQ(clipGradientNorm<double>(tensors, 1.0), norm);
    ASSERT_TRUE(sgd.step(tensors, nullptr));
    for (size_t i = 0; i < 2; ++i) {
      double clipped = coefficient * gradients[k][i];
      buffer[i] = k == 0 ? clipped : momentum * buffer[i] + clipped;
      expected[i] -= lr * buffer[i];
      EXPECT_NEAR(value[i], expected[i], 1e-15) << "step " << k + 1;
    }
  }
}

TEST(Adam, ZeroGradientLeavesAnUntouchedElementExactly) {
  // m = v = 0 gives 0 / (0 + eps) = 0: an embedding row absent from the
  // batches does not move at all.
  std::vector<float> value = {0.25f, 0.75f}, gradient = {0.0f, 1.0f};
  std::vector<TrainedTensor<float>> tensors = {{value, gradient}};
  Adam<float> adam({.learningRate = 0.01});
  for (int step = 0; step < 3; ++step)
    ASSERT_TRUE(adam.step(tensors, nullptr));
  EXPECT_EQ(value[0], 0.25f);
  EXPECT_NE(value[1], 0.75f);
}
