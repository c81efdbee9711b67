// Optimisers with PyTorch's update rules: take parameter buffers with their
// gradients and update the parameters in place (SGD with momentum, Adam),
// or rescale the gradients to a global norm (clip_grad_norm_).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace weft::runtime {

/// One trained tensor: its values and the gradient of the loss with respect
/// to them, of the same length. Clipping rescales the gradient in place.
template <typename Real> struct TrainedTensor {
  std::span<Real> value;
  std::span<Real> gradient;
};

/// What an optimiser keeps between steps: its step count and buffers (in
/// the order of the tensors, a group of buffers per kind), for checkpoints.
template <typename Real> struct OptimizerState {
  int64_t steps = 0;
  std::vector<std::vector<Real>> buffers;
};

/// torch.optim.SGD's options and defaults.
struct SgdOptions {
  double learningRate = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weightDecay = 0.0;
  bool nesterov = false;
};

/// torch.optim.SGD: d = g + weightDecay * p; with momentum, buf = d on the
/// first step and buf = momentum * buf + (1 - dampening) * d after, and d
/// becomes buf (or d + momentum * buf with Nesterov); then p -= lr * d.
template <typename Real> class Sgd {
public:
  explicit Sgd(SgdOptions options = {}) : options(options) {}

  /// One update. The tensors must be the same, in the same order, at every
  /// step; fails (changing nothing) when their count or sizes differ.
  bool step(std::span<const TrainedTensor<Real>> tensors, std::string *error);
  /// Forgets the momentum buffers.
  void reset() { momentumBuffers.clear(); }
  /// The learning rate of the next steps (for schedules).
  void setLearningRate(double rate) { options.learningRate = rate; }
  /// The momentum buffers (none before the first step with momentum).
  OptimizerState<Real> state() const { return {0, momentumBuffers}; }
  void restore(OptimizerState<Real> saved) {
    momentumBuffers = std::move(saved.buffers);
  }

private:
  SgdOptions options;
  std::vector<std::vector<Real>> momentumBuffers;
};

/// torch.optim.Adam's options and defaults.
struct AdamOptions {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.0;
  /// AdamW (torch.optim.AdamW): the weight decay shrinks the parameters,
  /// p *= 1 - lr * weightDecay, before the update, instead of being added
  /// to the gradient.
  bool decoupledWeightDecay = false;
};

/// torch.optim.Adam: with t counting steps from 1,
///   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
///   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
/// evaluated in the same order as PyTorch's single-tensor loop; AdamW
/// first shrinks p by 1 - lr * weightDecay (decoupledWeightDecay).
template <typename Real> class Adam {
public:
  explicit Adam(AdamOptions options = {}) : options(options) {}

  /// One update; the same contract as `Sgd::step`.
  bool step(std::span<const TrainedTensor<Real>> tensors, std::string *error);
  void reset();
  int64_t stepCount() const { return steps; }
  /// The learning rate of the next steps (for schedules).
  void setLearningRate(double rate) { options.learningRate = rate; }
  /// The step count, then every first moment, then every second moment.
  OptimizerState<Real> state() const {
    OptimizerState<Real> saved{steps, firstMoments};
    saved.buffers.insert(saved.buffers.end(), secondMoments.begin(),
                         secondMoments.end());
    return saved;
  }
  void restore(OptimizerState<Real> saved) {
    steps = saved.steps;
    size_t half = saved.buffers.size() / 2;
    firstMoments.assign(saved.buffers.begin(), saved.buffers.begin() + half);
    secondMoments.assign(saved.buffers.begin() + half, saved.buffers.end());
  }

private:
  AdamOptions options;
  int64_t steps = 0;
  std::vector<std::vector<Real>> firstMoments, secondMoments;
};

/// The global L2 norm of every gradient, as if all were one vector:
/// sqrt(sum of squared per-tensor norms), as clip_grad_norm_ computes it.
template <typename Real>
double globalGradientNorm(std::span<const TrainedTensor<Real>> tensors);

/// clip_grad_norm_'s factor, min(1, maxNorm / (totalNorm + 1e-6)); NaN when
/// the norm is NaN, as in PyTorch.
double clipCoefficient(double totalNorm, double maxNorm);

/// torch.nn.utils.clip_grad_norm_: multiplies every gradient by
/// `clipCoefficient(globalGradientNorm(tensors), maxNorm)` when that is
/// below 1. Returns the norm before clipping.
template <typename Real>
double clipGradientNorm(std::span<const TrainedTensor<Real>> tensors,
                        double maxNorm);

extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class Adam<float>;
extern template class Adam<double>;

} // namespace weft::runtime
