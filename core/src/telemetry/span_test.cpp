#include "telemetry/span.hpp"

#include <gtest/gtest.h>

#include <set>

namespace steward::telemetry {
namespace {

TEST(Traceparent, ParsesTheW3CExample) {
  auto c = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled);
  EXPECT_TRUE(c->remote);
  EXPECT_EQ(FormatTraceparent(*c), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(Traceparent, ReadsTheSampledFlagAndLowercasesIds) {
  auto c = ParseTraceparent(" 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->sampled);
  EXPECT_EQ(c->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, AcceptsAFutureVersionByItsFirstFields) {
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST(Traceparent, RejectsMalformedHeaders) {
  for (const char* bad : {
           "",
           "garbage",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",         // no flags
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",      // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",      // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",      // not hex
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",    // version 00 has 4 fields
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad)) << bad;
  }
}

TEST(SpanIds, AreHexOfTheRightLengthAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = NewTraceId();
    const std::string s = NewSpanId();
    EXPECT_TRUE(IsHexId(t, 32)) << t;
    EXPECT_TRUE(IsHexId(s, 16)) << s;
    EXPECT_TRUE(seen.insert(t).second);
  }
}

TEST(SpanNames, KindAndStatusNamesRoundTrip) {
  for (SpanKind k : {SpanKind::kInternal, SpanKind::kServer, SpanKind::kClient, SpanKind::kProducer, SpanKind::kConsumer}) {
    EXPECT_EQ(KindFromName(KindName(k)), k);
  }
  for (SpanStatus s : {SpanStatus::kUnset, SpanStatus::kOk, SpanStatus::kError}) {
    EXPECT_EQ(StatusFromName(StatusName(s)), s);
  }
  EXPECT_FALSE(KindFromName("sideways"));
}

}  // namespace
}  // namespace steward::telemetry
