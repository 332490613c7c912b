#include "engine/duration.hpp"

#include <gtest/gtest.h>

namespace steward::engine {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(ParseDuration("250ms").value(), 250ms);
  EXPECT_EQ(ParseDuration("30s").value(), 30s);
  EXPECT_EQ(ParseDuration("5m").value(), 5min);
  EXPECT_EQ(ParseDuration("2h").value(), 2h);
  EXPECT_EQ(ParseDuration("1m30s").value(), 90s);
  EXPECT_EQ(ParseDuration("1d").value(), 24h);
  for (const char* bad : {"", "30", "s", "1.5s", "5 m", "-1s", "10y", "1m30"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(0ms), "0s");
  EXPECT_EQ(FormatDuration(26h), "1d2h");
}

}  // namespace
}  // namespace steward::engine
