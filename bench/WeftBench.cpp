// weft_bench: times the training step of one workload of
// ../shared/bench/workloads.json with its cell written in Weft, and prints
// one JSON object per thread count with the fields torch_rnn.py prints,
// plus the compile time and the peak resident memory of the process.
//
// One step is what torch_rnn.py times: the forward pass over all steps,
// backpropagation through time, and the optimiser's update.
#include "compiler/driver/Pipeline.h"
#include "runtime/Initializers.h"
#include "runtime/Optimizers.h"
#include "runtime/Random.h"
#include "runtime/Threads.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sys/resource.h>

namespace {

using weft::codegen::Instance;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double roundTo(double value, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

/// The best single-precision GEMM rate on 2048 x 2048 matrices, in FLOP/s,
/// measured as torch_rnn.py measures its own, through the product that
/// generated code calls (split between the compute threads).
double sgemmRate(int threads) {
  weft::runtime::setComputeThreads(threads);
  const int n = 2048;
  std::vector<float> a(size_t(n) * n), b(a.size()), c(a.size());
  std::mt19937_64 rng(0);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float(weft::runtime::standardNormal(rng));
    b[i] = float(weft::runtime::standardNormal(rng));
  }
  auto multiply = [&] {
    weft_sgemm(0, 0, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
               n);
  };
  multiply();
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    Clock::time_point start = Clock::now();
    multiply();
    best = std::min(best, secondsSince(start));
  }
  return 2.0 * n * n * double(n) / best;
}

/// The GEMM FLOPs of one training step, by torch_rnn.py's formula: three
/// times the forward pass's matrix products.
double gemmFlops(const Json &workload) {
  double T = workload["T"], B = workload["B"], H = workload["H"];
  std::string cell = workload["cell"];
  double forward = 0;
  if (workload["name"] == "charlm") {
    double E = workload["E"], V = workload["V"];
    forward = 2 * T * B * 3 * H * (E + H) + 2 * T * B * V * H;
  } else if (cell == "lstm" || cell == "lnlstm") {
    forward = 2 * T * B * 4 * H * (double(workload["I"]) + H);
  } else if (cell == "gru") {
    forward = 2 * T * B * 3 * H * (double(workload["I"]) + H);
  } else if (cell == "hyper") {
    double I = workload["I"], Z = workload["Z"];
    forward = 2 * T * B * (H * H * Z + H * H + H * I + Z * I + Z * Z);
  }
  return 3 * forward;
}

/// The model file that writes a workload's cell: `charlm.weft` for the
/// character model, else the cell's name.
std::string modelFile(const std::string &modelsDir, const Json &workload) {
  std::string stem = workload["name"] == "charlm"
                         ? std::string("charlm")
                         : workload["cell"].get<std::string>();
  return modelsDir + "/" + stem + ".weft";
}

/// A compiled workload with its buffers and optimiser.
struct Bench {
  weft::driver::Compilation compilation;
  std::unique_ptr<Instance> instance;
  std::vector<weft::runtime::TrainedTensor<float>> tensors;
  bool useAdam = false;
  weft::runtime::Sgd<float> sgd;
  weft::runtime::Adam<float> adam;
  double compileSeconds = 0;
};

/// Loads, builds and compiles the workload's model with its sizes bound,
/// then fills parameters by their initialisers and inputs with seeded
/// random values (token ids below the vocabulary for token inputs).
bool prepare(Bench &bench, const std::string &path, const Json &workload) {
  Clock::time_point start = Clock::now();
  weft::driver::Compilation &compilation = bench.compilation;
  std::vector<std::string> sizes;
  for (const auto &[key, value] : workload.items())
    if (value.is_number_integer() && key != "B")
      sizes.push_back(fmt::format("{}={}", key, value.get<int64_t>()));
  if (!compilation.load(path) || !compilation.bindSizeOptions(sizes) ||
      !compilation.build(true) ||
      !compilation.compile(weft::codegen::FloatType::F32))
    return false;
  bench.compileSeconds = secondsSince(start);

  int64_t batch = workload["B"];
  bench.instance = std::make_unique<Instance>(*compilation.executable, batch);
  Instance &instance = *bench.instance;
  std::mt19937_64 rng(0);
  for (const weft::sema::ParamInfo &param : compilation.info.params) {
    auto *values = static_cast<float *>(instance.buffer(param.name));
    auto *gradient =
        static_cast<float *>(instance.buffer("grad_" + param.name));
    size_t count = instance.elements(param.name);
    std::string error;
    if (!weft::runtime::initialize(param.init, param.initArgs, param.shape,
                                   std::span<float>(values, count), rng,
                                   &error)) {
      std::cerr << fmt::format("parameter `{}`: {}\n", param.name, error);
      return false;
    }
    bench.tensors.push_back(
        {std::span<float>(values, count), std::span<float>(gradient, count)});
  }
  for (const weft::sema::InputInfo &input : compilation.info.inputs) {
    int64_t count = instance.elements(input.name);
    if (input.isToken) {
      auto *ids = static_cast<int64_t *>(instance.buffer(input.name));
      for (int64_t i = 0; i < count; ++i)
        ids[i] = int64_t(weft::runtime::uniformUnit(rng) * input.vocab);
    } else {
      auto *values = static_cast<float *>(instance.buffer(input.name));
      for (int64_t i = 0; i < count; ++i)
        values[i] = float(weft::runtime::standardNormal(rng));
    }
  }
  bench.useAdam = workload["optimizer"] == "adam";
  return true;
}

/// One training step: forward, backward and the optimiser's update.
void trainingStep(Bench &bench) {
  bench.instance->run();
  std::string error;
  bool stepped = bench.useAdam ? bench.adam.step(bench.tensors, &error)
                               : bench.sgd.step(bench.tensors, &error);
  if (!stepped) {
    std::cerr << "optimiser: " << error << "\n";
    std::exit(1);
  }
}

/// The median and the minimum of `reps` step times after `warmup` steps,
/// in milliseconds.
std::pair<double, double> timeSteps(Bench &bench, int warmup, int reps) {
  std::vector<double> times;
  for (int i = 0; i < warmup + reps; ++i) {
    Clock::time_point start = Clock::now();
    trainingStep(bench);
    if (i >= warmup)
      times.push_back(secondsSince(start) * 1e3);
  }
  std::sort(times.begin(), times.end());
  size_t middle = times.size() / 2;
  double median = times.size() % 2 ? times[middle]
                                   : (times[middle - 1] + times[middle]) / 2;
  return {median, times.front()};
}

double peakResidentMegabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0; // ru_maxrss is in KiB.
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Times the training step of a workload of workloads.json "
               "with its cell written in Weft."};
  std::string workloadsPath, modelsDir, only;
  std::string threadList = "1,2";
  int reps = 10, warmup = 3;
  bool listOnly = false, rateOnly = false;
  app.add_option("--workloads", workloadsPath, "workloads.json")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--models", modelsDir, "folder of the workloads' models")
      ->check(CLI::ExistingDirectory);
  app.add_option("--workload", only, "the workload to time");
  app.add_option("--threads", threadList, "thread counts, comma-separated");
  app.add_option("--reps", reps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first");
  app.add_flag("--list", listOnly, "print the workloads' names");
  app.add_flag("--sgemm", rateOnly,
               "print the BLAS's 2-thread sgemm rate and stop");
  CLI11_PARSE(app, argc, argv);

  std::ifstream file(workloadsPath);
  Json spec = Json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.contains("workloads")) {
    std::cerr << workloadsPath << ": not a workloads file\n";
    return 1;
  }
  std::vector<int> threadCounts;
  for (const std::string &count : CLI::detail::split(threadList, ','))
    threadCounts.push_back(std::stoi(count));
  int maxThreads = *std::max_element(threadCounts.begin(), threadCounts.end());

  if (listOnly) {
    for (const Json &workload : spec["workloads"])
      std::cout << workload["name"].get<std::string>() << "\n";
    return 0;
  }
  double rate = sgemmRate(maxThreads);
  if (rateOnly) {
    std::cout << Json{{"sgemm_gflops", roundTo(rate / 1e9, 1)},
                      {"threads", maxThreads}}
                     .dump()
              << std::endl;
    return 0;
  }
  for (const Json &workload : spec["workloads"]) {
    if (workload["name"] != only)
      continue;
    Bench bench;
    if (!prepare(bench, modelFile(modelsDir, workload), workload))
      return 1;
    double flops = gemmFlops(workload);
    for (int threads : threadCounts) {
      weft::runtime::setComputeThreads(threads);
      auto [median, best] = timeSteps(bench, warmup, reps);
      Json line = {{"workload", only},
                   {"variant", "weft"},
                   {"threads", threads},
                   {"ms_median", roundTo(median, 2)},
                   {"ms_min", roundTo(best, 2)},
                   {"gemm_gflop", roundTo(flops / 1e9, 3)},
                   {"floor_ms", roundTo(flops / rate * 1e3, 2)},
                   {"compile_s", roundTo(bench.compileSeconds, 3)},
                   {"peak_rss_mb", roundTo(peakResidentMegabytes(), 1)}};
      std::cout << line.dump() << std::endl;
    }
    return 0;
  }
  std::cerr << fmt::format("no workload `{}` in {}\n", only, workloadsPath);
  return 1;
}
