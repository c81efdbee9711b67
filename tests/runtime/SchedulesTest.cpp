// Learning-rate schedules: warm-up, step decay and the cosine, at the steps
// where their formulas are easy to read.
#include "runtime/Schedules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

using namespace weft::runtime;

TEST(Schedule, NamesParse) {
  EXPECT_EQ(parseScheduleKind("cosine"), ScheduleKind::Cosine);
  EXPECT_EQ(parseScheduleKind("step"), ScheduleKind::Step);
  EXPECT_EQ(parseScheduleKind("constant"), ScheduleKind::Constant);
  EXPECT_FALSE(parseScheduleKind("linear"));
}

TEST(Schedule, WarmupRisesLinearlyToTheBaseRate) {
  Schedule schedule{
      .kind = ScheduleKind::Constant, .baseRate = 0.4, .warmupSteps = 4};
  EXPECT_DOUBLE_EQ(schedule.rateAt(0, 0), 0.1);
  EXPECT_DOUBLE_EQ(schedule.rateAt(2, 0), 0.3);
  EXPECT_DOUBLE_EQ(schedule.rateAt(3, 0), 0.4);
  EXPECT_DOUBLE_EQ(schedule.rateAt(100, 0.5), 0.4);
}

TEST(Schedule, StepDecaysEveryPeriodAfterTheWarmup) {
  Schedule schedule{.kind = ScheduleKind::Step,
                    .baseRate = 1.0,
                    .warmupSteps = 2,
                    .every = 10,
                    .gamma = 0.5};
  EXPECT_DOUBLE_EQ(schedule.rateAt(2, 0), 1.0);
  EXPECT_DOUBLE_EQ(schedule.rateAt(11, 0), 1.0);
  EXPECT_DOUBLE_EQ(schedule.rateAt(12, 0), 0.5);
  EXPECT_DOUBLE_EQ(schedule.rateAt(32, 0), 0.125);
}

TEST(Schedule, CosineFollowsTheRunsProgress) {
  Schedule schedule{.kind = ScheduleKind::Cosine, .baseRate = 2.0};
  EXPECT_DOUBLE_EQ(schedule.rateAt(0, 0.0), 2.0);
  EXPECT_NEAR(schedule.rateAt(50, 0.5), 1.0, 1e-15);
  EXPECT_NEAR(schedule.rateAt(75, 0.75),
              1.0 + std::cos(0.75 * std::numbers::pi), 1e-15);
  EXPECT_NEAR(schedule.rateAt(100, 1.0), 0.0, 1e-15);
  EXPECT_NEAR(schedule.rateAt(200, 2.0), 0.0, 1e-15) << "clamped";
}
