// Tests of progress-line formatting.

#include "runtime/Progress.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace weft::runtime;

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(45.2), "45s");
  EXPECT_EQ(formatDuration(59.6), "1m00s");
  EXPECT_EQ(formatDuration(83), "1m23s");
  EXPECT_EQ(formatDuration(3725), "1h02m05s");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatDuration(NAN), "?");
  EXPECT_EQ(formatDuration(INFINITY), "?");
}

TEST(Progress, FormatsRates) {
  EXPECT_EQ(formatRate(950.4), "950");
  EXPECT_EQ(formatRate(9999.4), "9999");
  EXPECT_EQ(formatRate(12345), "12.3k");
  EXPECT_EQ(formatRate(4.56e6), "4.56M");
}

TEST(Progress, FormatsAFullLine) {
  ProgressReport report;
  report.step = 120;
  report.totalSteps = 1000;
  report.trainLoss = 2.34561;
  report.validationLoss = 2.4;
  report.itemsPerSecond = 12345;
  report.remainingSeconds = 83;
  EXPECT_EQ(formatProgress(report),
            "step 120/1000  train 2.3456  val 2.4000  12.3k chars/s  "
            "ETA 1m23s");
}

TEST(Progress, LeavesOutWhatIsUnknown) {
  ProgressReport report;
  report.step = 7;
  report.trainLoss = 4.0;
  report.itemsPerSecond = 300;
  EXPECT_EQ(formatProgress(report), "step 7  train 4.0000  300 chars/s");
}
