// The device runtime's parts that need no GPU: the launch plan's JSON (what
// a trainer built for CUDA carries) and the search for cuBLAS.
#include "TempDir.h"
#include "runtime/Cuda.h"
#include "runtime/DevicePlan.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace weft::runtime;

namespace {

/// A plan with a step of each kind, a reversed loop inside a loop, and
/// sizes that grow with the batch.
DevicePlan samplePlan() {
  DevicePlan plan;
  plan.kernelCount = 2;
  plan.loopCount = 2;
  PlanStep launch;
  launch.kind = PlanStep::Kind::Launch;
  launch.kernel = 0;
  launch.extents = {{0, 3}, {16, 0}};
  PlanStep gemm;
  gemm.kind = PlanStep::Kind::Gemm;
  gemm.label = "matmul";
  gemm.transposeB = true;
  gemm.m = {0, 1};
  gemm.n = {64, 0};
  gemm.k = {32, 0};
  gemm.a = {4, {0, 32}, {{0, {0, 32}}}};
  gemm.b = {1, {0, 0}, {}};
  gemm.c = {5, {8, 0}, {{1, {64, 2}}}};
  gemm.lda = 32;
  gemm.ldb = 32;
  gemm.ldc = 64;
  gemm.beta = 1;
  PlanStep copy;
  copy.kind = PlanStep::Kind::Copy;
  copy.destination = {2, {0, 0}, {}};
  copy.source = {3, {0, 64}, {{1, {0, 64}}}};
  copy.count = {0, 64};
  PlanStep serial = launch;
  serial.kernel = 1;
  serial.serial = true;
  PlanStep inner;
  inner.kind = PlanStep::Kind::Loop;
  inner.loop = 1;
  inner.steps = 5;
  inner.reverse = true;
  inner.body = {gemm, copy};
  PlanStep outer;
  outer.kind = PlanStep::Kind::Loop;
  outer.loop = 0;
  outer.steps = 3;
  outer.body = {inner, serial};
  plan.steps = {launch, outer};
  return plan;
}

TEST(DevicePlan, DescribesEachStepOnALineIndentedInsideLoops) {
  EXPECT_EQ(describePlan(samplePlan()),
            "launch weft_kernel0 points 3*batch x 16\n"
            "for t0 in 3 steps\n"
            "  for t1 in 5 steps, last first\n"
            "    gemm matmul m batch n 64 k 32 B^T into buffer 5\n"
            "    copy 64*batch elements buffer 3 -> buffer 2\n"
            "  launch weft_kernel1 points 1 (serial over 3*batch x 16)\n");
}

TEST(DevicePlan, JsonRoundTripKeepsEveryField) {
  std::string json = planToJson(samplePlan());
  std::string error;
  std::optional<DevicePlan> back = planFromJson(json, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(planToJson(*back), json);
  const PlanStep &gemm = back->steps[1].body[0].body[0];
  EXPECT_EQ(gemm.c.at(2, {1, 3}), 8 + 3 * (64 + 2 * 2));
  EXPECT_EQ(gemm.ldc, 64);
  EXPECT_EQ(gemm.beta, 1);
}

TEST(DevicePlan, TextThatIsNotAPlanIsAnError) {
  std::string error;
  EXPECT_FALSE(planFromJson("{\"kernels\": 1}", &error));
  EXPECT_NE(error.find("not a launch plan"), std::string::npos) << error;
  EXPECT_FALSE(planFromJson(
      R"({"kernels":1,"loops":0,"steps":[{"kind":"jump"}]})", &error));
  EXPECT_NE(error.find("jump"), std::string::npos) << error;
}

TEST(Cublas, TheFolderInTheEnvironmentIsSearchedAndNamedWhenEmpty) {
  weft::runtime::testing::TempDir empty;
  std::string folder = empty.path("");
  setenv("WEFT_CUBLAS_DIR", folder.c_str(), 1);
  std::string error;
  EXPECT_EQ(loadCublas(&error), nullptr);
  EXPECT_NE(error.find(folder), std::string::npos) << error;
  EXPECT_NE(error.find("WEFT_CUBLAS_DIR"), std::string::npos) << error;

  // The CUDA toolkit's copy, where it is installed, as a Python
  // installation's would be found.
  const fs::path toolkit = "/usr/local/cuda/lib64";
  bool present = false;
  for (const char *name : {"libcublas.so.13", "libcublas.so.12"})
    present = present || fs::exists(toolkit / name);
  if (present) {
    setenv("WEFT_CUBLAS_DIR", toolkit.c_str(), 1);
    EXPECT_NE(loadCublas(&error), nullptr) << error;
  }
  unsetenv("WEFT_CUBLAS_DIR");
}

} // namespace
