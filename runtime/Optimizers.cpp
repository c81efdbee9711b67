// The optimisers' update loops, written in the operation order of
// PyTorch's single-tensor implementations (torch/optim/sgd.py, adam.py) so
// that double runs agree with it to the last bit or nearly so.
// TODO: PyTorch's vectorised CPU kernels may fuse multiply-adds, which can
// move a result by one ulp; matching that needs the same fused operations.

#include "runtime/Optimizers.h"
#include "runtime/Error.h"

#include <cmath>
#include <fmt/format.h>

namespace weft::runtime {

namespace {

/// Checks that every gradient matches its tensor and, once `state` exists,
/// that the tensors are the ones the state was built for.
template <typename Real>
bool checkTensors(std::span<const TrainedTensor<Real>> tensors,
                  const std::vector<std::vector<Real>> &state,
                  std::string *error) {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].value.size() != tensors[i].gradient.size())
      return fail(error, fmt::format("optimiser: tensor {} has {} values but "
                                     "{} gradients",
                                     i, tensors[i].value.size(),
                                     tensors[i].gradient.size()));
  if (state.empty())
    return true;
  if (state.size() != tensors.size())
    return fail(error, fmt::format("optimiser: {} tensors given, state holds "
                                   "{}",
                                   tensors.size(), state.size()));
  for (size_t i = 0; i < tensors.size(); ++i)
    if (state[i].size() != tensors[i].value.size())
      return fail(error,
                  fmt::format("optimiser: tensor {} changed size from "
                              "{} to {}",
                              i, state[i].size(), tensors[i].value.size()));
  return true;
}

/// PyTorch's lerp for |weight| < 0.5: start + weight * (end - start).
template <typename Real> Real lerp(Real start, Real end, Real weight) {
  if (std::abs(weight) < Real(0.5))
    return start + weight * (end - start);
  return end - (end - start) * (Real(1) - weight);
}

} // namespace

template <typename Real>
bool Sgd<Real>::step(std::span<const TrainedTensor<Real>> tensors,
                     std::string *error) {
  if (!checkTensors(tensors, momentumBuffers, error))
    return false;
  bool firstStep = momentumBuffers.empty();
  if (options.momentum != 0 && firstStep)
    momentumBuffers.resize(tensors.size());

  const Real learningRate = static_cast<Real>(options.learningRate);
  const Real momentum = static_cast<Real>(options.momentum);
  const Real damping = static_cast<Real>(1 - options.dampening);
  const Real weightDecay = static_cast<Real>(options.weightDecay);
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::span<Real> value = tensors[i].value, gradient = tensors[i].gradient;
    if (options.momentum != 0 && firstStep)
      momentumBuffers[i].resize(value.size());
    for (size_t k = 0; k < value.size(); ++k) {
      Real direction = gradient[k];
      if (options.weightDecay != 0)
        direction = direction + weightDecay * value[k];
      if (options.momentum != 0) {
        Real &buffer = momentumBuffers[i][k];
        // The first step copies the gradient; later ones decay and add it.
        buffer =
            firstStep ? direction : buffer * momentum + damping * direction;
        direction = options.nesterov ? direction + momentum * buffer : buffer;
      }
      value[k] = value[k] + -learningRate * direction;
    }
  }
  return true;
}

template <typename Real> void Adam<Real>::reset() {
  steps = 0;
  firstMoments.clear();
  secondMoments.clear();
}

template <typename Real>
bool Adam<Real>::step(std::span<const TrainedTensor<Real>> tensors,
                      std::string *error) {
  if (!checkTensors(tensors, firstMoments, error))
    return false;
  if (firstMoments.empty())
    for (const TrainedTensor<Real> &tensor : tensors) {
      firstMoments.emplace_back(tensor.value.size(), Real(0));
      secondMoments.emplace_back(tensor.value.size(), Real(0));
    }
  ++steps;

  // The step-dependent scalars are Python floats (doubles) in PyTorch.
  double t = static_cast<double>(steps);
  double correction1 = 1 - std::pow(options.beta1, t);
  double correction2 = 1 - std::pow(options.beta2, t);
  const Real stepSize = static_cast<Real>(options.learningRate / correction1);
  const Real correction2Root = static_cast<Real>(std::sqrt(correction2));
  const Real firstWeight = static_cast<Real>(1 - options.beta1);
  const Real beta2 = static_cast<Real>(options.beta2);
  const Real secondWeight = static_cast<Real>(1 - options.beta2);
  const Real epsilon = static_cast<Real>(options.epsilon);
  const Real weightDecay = static_cast<Real>(options.weightDecay);
  const Real shrink =
      static_cast<Real>(1 - options.learningRate * options.weightDecay);
  bool coupled = options.weightDecay != 0 && !options.decoupledWeightDecay;
  bool decoupled = options.weightDecay != 0 && options.decoupledWeightDecay;

  for (size_t i = 0; i < tensors.size(); ++i) {
    std::span<Real> value = tensors[i].value, gradient = tensors[i].gradient;
    std::vector<Real> &m = firstMoments[i], &v = secondMoments[i];
    for (size_t k = 0; k < value.size(); ++k) {
      Real g = gradient[k];
      if (coupled)
        g = g + weightDecay * value[k];
      if (decoupled)
        value[k] = value[k] * shrink;
      m[k] = lerp(m[k], g, firstWeight);
      v[k] = v[k] * beta2 + secondWeight * g * g;
      Real denominator = std::sqrt(v[k]) / correction2Root + epsilon;
      value[k] = value[k] + -stepSize * m[k] / denominator;
    }
  }
  return true;
}

template <typename Real>
double globalGradientNorm(std::span<const TrainedTensor<Real>> tensors) {
  // Like PyTorch, the total is the norm of the per-tensor norms, each
  // rounded to the tensors' type.
  double sumOfSquares = 0;
  for (const TrainedTensor<Real> &tensor : tensors) {
    double tensorSquares = 0;
    for (Real g : tensor.gradient)
      tensorSquares += static_cast<double>(g) * g;
    double tensorNorm = static_cast<Real>(std::sqrt(tensorSquares));
    sumOfSquares += tensorNorm * tensorNorm;
  }
  return std::sqrt(sumOfSquares);
}

double clipCoefficient(double totalNorm, double maxNorm) {
  // Written so that a NaN norm gives a NaN factor, as torch.clamp does.
  double coefficient = maxNorm / (totalNorm + 1e-6);
  return coefficient >= 1 ? 1.0 : coefficient;
}

template <typename Real>
double clipGradientNorm(std::span<const TrainedTensor<Real>> tensors,
                        double maxNorm) {
  double total = globalGradientNorm(tensors);
  double coefficient = clipCoefficient(total, maxNorm);
  // A factor of 1 leaves the gradients as they are; NaN spreads into them.
  if (!(coefficient >= 1)) {
    const Real scale = static_cast<Real>(coefficient);
    for (const TrainedTensor<Real> &tensor : tensors)
      for (Real &g : tensor.gradient)
        g *= scale;
  }
  return total;
}

template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template double globalGradientNorm(std::span<const TrainedTensor<float>>);
template double globalGradientNorm(std::span<const TrainedTensor<double>>);
template double clipGradientNorm(std::span<const TrainedTensor<float>>, double);
template double clipGradientNorm(std::span<const TrainedTensor<double>>,
                                 double);

} // namespace weft::runtime
