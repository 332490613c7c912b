#include "telemetry/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "telemetry/prometheus_text.hpp"

namespace steward::telemetry {
namespace {

std::string Render(const MetricsRegistry& registry) {
  std::string out;
  AppendPrometheusText(registry.Collect(), out);
  return out;
}

TEST(MetricsRegistry, CountersKeepOneSeriesPerLabelTuple) {
  MetricsRegistry r;
  CounterFamily& calls = r.Counter("calls_total", "Calls.", {"model", "status"});
  calls.With({"a", "ok"}).Inc();
  calls.With({"a", "ok"}).Inc(2);
  calls.With({"b", "error"}).Inc();
  calls.With({"a", "ok"}).Inc(-5);  // counters never go down
  EXPECT_EQ(calls.With({"a", "ok"}).value(), 3);
  EXPECT_EQ(Render(r),
            "# HELP calls_total Calls.\n"
            "# TYPE calls_total counter\n"
            "calls_total{model=\"a\",status=\"ok\"} 3\n"
            "calls_total{model=\"b\",status=\"error\"} 1\n");
}

TEST(MetricsRegistry, RegistrationIsIdempotentAndTypeChecked) {
  MetricsRegistry r;
  CounterFamily& a = r.Counter("x_total", "X.", {"k"});
  CounterFamily& b = r.Counter("x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.Gauge("x_total", "X.", {"k"}), std::invalid_argument);
  EXPECT_THROW(r.Counter("bad-name", "X.", {}), std::invalid_argument);
  EXPECT_THROW(r.Counter("ok_name", "X.", {"le"}), std::invalid_argument);
  EXPECT_THROW(r.Counter("ok_name", "X.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.Histogram("h", "H.", {}, {1, 0.5}), std::invalid_argument);
}

TEST(MetricsRegistry, MissingLabelValuesAreEmptyAndExtraOnesIgnored) {
  MetricsRegistry r;
  GaugeFamily& g = r.Gauge("g", "G.", {"a", "b"});
  g.With({"x"}).Set(1);
  g.With({"x", "", "ignored"}).Add(2);
  EXPECT_EQ(g.With({"x", ""}).value(), 3);
}

TEST(MetricsRegistry, HistogramRendersCumulativeBucketsSumAndCount) {
  MetricsRegistry r;
  HistogramFamily& h = r.Histogram("latency_seconds", "Latency.", {"route"}, {0.1, 1, 10});
  Histogram& api = h.With({"/api"});
  for (double v : {0.05, 0.1, 0.5, 2.0, 100.0}) api.Observe(v);
  EXPECT_EQ(Render(r),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/api\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"/api\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/api\",le=\"10\"} 4\n"
            "latency_seconds_bucket{route=\"/api\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{route=\"/api\"} 102.65\n"
            "latency_seconds_count{route=\"/api\"} 5\n");
}

TEST(MetricsRegistry, EmptyFamiliesStillHaveHelpAndType) {
  MetricsRegistry r;
  (void)r.Gauge("budget_state", "State.", {"scope"});
  EXPECT_EQ(Render(r), "# HELP budget_state State.\n# TYPE budget_state gauge\n");
}

TEST(MetricsRegistry, RemoveDropsASeries) {
  MetricsRegistry r;
  GaugeFamily& g = r.Gauge("g", "G.", {"k"});
  g.With({"a"}).Set(1);
  g.With({"b"}).Set(2);
  g.Remove({"a"});
  EXPECT_EQ(r.Collect()[0].samples.size(), 1u);
  EXPECT_EQ(r.Collect()[0].samples[0].labels[0].second, "b");
}

TEST(MetricsRegistry, SeriesBeyondTheLimitShareOneOverflowSeries) {
  MetricsRegistry r;
  CounterFamily& c = r.Counter("c_total", "C.", {"k"});
  for (size_t i = 0; i < CounterFamily::kMaxSeries + 10; ++i) c.With({std::to_string(i)}).Inc();
  const auto families = r.Collect();
  EXPECT_EQ(families[0].samples.size(), CounterFamily::kMaxSeries + 1);
  EXPECT_EQ(c.With({"other"}).value(), 10);
}

TEST(MetricsRegistry, CollectorsAddFamiliesAndDuplicatesAreDropped) {
  MetricsRegistry r;
  r.Counter("a_total", "A.", {}).With({}).Inc();
  const int id = r.AddCollector([](std::vector<MetricFamily>& out) {
    out.push_back({"b", "B.", MetricType::kGauge, {{"", {}, 7}}});
    out.push_back({"a_total", "dup", MetricType::kCounter, {}});
  });
  auto families = r.Collect();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "a_total");
  EXPECT_EQ(families[0].help, "A.");
  EXPECT_EQ(families[1].name, "b");
  r.RemoveCollector(id);
  EXPECT_EQ(r.Collect().size(), 1u);
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry r;
  CounterFamily& c = r.Counter("c_total", "C.", {"k"});
  HistogramFamily& h = r.Histogram("h", "H.", {"k"}, {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.With({i % 2 ? "odd" : "even"}).Inc();
        h.With({"x"}).Observe(t % 2 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.With({"odd"}).value() + c.With({"even"}).value(), 40000);
  const Histogram::Snapshot s = h.With({"x"}).snapshot();
  EXPECT_EQ(s.count(), 40000u);
  EXPECT_EQ(s.cumulative[0], 20000u);
  EXPECT_DOUBLE_EQ(s.sum, 20000 * 0.25 + 20000 * 1.0);
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("line \"one\"\nback\\slash"), "line \"one\"\\nback\\\\slash");
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9"), "caf\xC3\xA9");       // valid UTF-8 kept
  EXPECT_EQ(EscapeLabelValue("bad\xFF"), "bad\xEF\xBF\xBD");        // invalid byte replaced
  EXPECT_EQ(EscapeLabelValue("cut\xE2\x82"), "cut\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
}

TEST(PrometheusText, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(PrometheusText, RendersLabelsInTheirOrderWithEscapedValues) {
  std::vector<MetricFamily> families = {
      {"tool_calls_total", "Tool calls\nby tool.", MetricType::kCounter,
       {{"", {{"tool", "web.\"fetch\""}, {"success", "true"}}, 2}}}};
  std::string out;
  AppendPrometheusText(families, out);
  EXPECT_EQ(out,
            "# HELP tool_calls_total Tool calls\\nby tool.\n"
            "# TYPE tool_calls_total counter\n"
            "tool_calls_total{tool=\"web.\\\"fetch\\\"\",success=\"true\"} 2\n");
}

}  // namespace
}  // namespace steward::telemetry
