#pragma once
// A small in-process metrics registry (prometheus-cpp is not packaged for Debian 12): counters,
// gauges and histograms with fixed buckets, each a family of series told apart by label values.
// `/metrics` renders it in the Prometheus text format (prometheus_text.hpp) together with the
// families collectors compute at scrape time (durable totals read from PostgreSQL).
//
// Process-wide like the tracer: components record through the free functions of
// instruments.hpp (one line per call site), which use Metrics(). Tests build their own registry.
//
// Cost on the hot path: With() looks the series up under a shared lock (a map lookup keyed by the
// label values; the first use of a series takes the exclusive lock once), then Inc/Set/Observe
// are relaxed atomics. Keep the returned reference to skip the lookup.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace steward::telemetry {

enum class MetricType { kCounter, kGauge, kHistogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

// One line of the exposition: `name + suffix{labels} value`.
struct MetricSample {
  std::string suffix;  // "" or, for histograms, "_bucket", "_sum", "_count"
  Labels labels;       // for "_bucket" the last one is `le`
  double value = 0;
};

// A family as rendered: what the registry snapshots and what collectors produce.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<MetricSample> samples;
};

// A monotonically increasing value. Thread-safe.
class Counter final {
 public:
  void Inc(double amount = 1) {
    if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down. Thread-safe.
class Gauge final {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending; +Inf is implicit) with their
// sum. Thread-safe. A scrape may see an observation in its bucket before it is in the sum (never
// the reverse is claimed); the count is the sum of the buckets, so buckets and count always agree.
class Histogram final {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    [[nodiscard]] uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double>& bounds_;  // owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// The series of one metric, one per distinct tuple of label values (in the order of the label
// names given at registration). Thread-safe; references returned by With stay valid until Remove
// of that series (or the registry's end). A family holding kMaxSeries series maps new label
// values to one series whose values are all "other", so a bug cannot grow memory without bound.
template <class Cell>
class MetricFamilyOf final {
 public:
  static constexpr size_t kMaxSeries = 2000;

  MetricFamilyOf(std::string name, std::string help, std::vector<std::string> label_names,
                 std::vector<double> bounds = {});

  // The series for these label values (as many as label names; missing ones are "", extra
  // ones ignored), created on first use.
  Cell& With(std::initializer_list<std::string_view> values);
  Cell& With(const std::vector<std::string>& values);

  // Drops a series (e.g. the budget of a workflow that ended). References to it dangle: for
  // series that may be removed, call With each time rather than keeping the reference.
  void Remove(std::initializer_list<std::string_view> values);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] MetricFamily Snapshot() const;

 private:
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };
  std::vector<std::string> Normalize(const std::string_view* values, size_t n) const;
  Cell& Find(const std::vector<std::string>& key);
  std::unique_ptr<Cell> NewCell() const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Cell>, KeyLess> cells_;  // GUARDED_BY(mu_)
  bool overflowed_ = false;  // GUARDED_BY(mu_); warned once
};

using CounterFamily = MetricFamilyOf<Counter>;
using GaugeFamily = MetricFamilyOf<Gauge>;
using HistogramFamily = MetricFamilyOf<Histogram>;

// Adds families computed at scrape time (from the database, from another component's stats).
// Runs on the scraping thread; must be thread-safe and should be quick.
using MetricCollector = std::function<void(std::vector<MetricFamily>& out)>;

// Thread-safe. Registration is idempotent: asking again for a name returns the same family
// (the type must match; a mismatch, or an invalid metric or label name, throws
// std::invalid_argument: a programming error found at the first scrape or call).
class MetricsRegistry final {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& Counter(std::string_view name, std::string_view help, std::vector<std::string> label_names);
  GaugeFamily& Gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names);
  HistogramFamily& Histogram(std::string_view name, std::string_view help, std::vector<std::string> label_names,
                             std::vector<double> bounds);

  // Returns an id for RemoveCollector.
  int AddCollector(MetricCollector collector);
  void RemoveCollector(int id);

  // Every registered family (sorted by name), then what each collector adds, minus families
  // whose name was already produced (a warning is logged once per name).
  [[nodiscard]] std::vector<MetricFamily> Collect() const;

 private:
  struct Entry {
    MetricType type;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  Entry& Get(std::string_view name, MetricType type);

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> families_;  // GUARDED_BY(mu_)
  std::map<int, MetricCollector> collectors_;           // GUARDED_BY(mu_)
  int next_collector_ = 1;                              // GUARDED_BY(mu_)
};

// The process-wide registry (never destroyed, so recording during shutdown is safe).
[[nodiscard]] MetricsRegistry& Metrics();

// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
[[nodiscard]] bool ValidMetricName(std::string_view name);
[[nodiscard]] bool ValidLabelName(std::string_view name);

}  // namespace steward::telemetry
