#include "telemetry/metrics.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace steward::telemetry {

namespace {

constexpr std::string_view kOverflowValue = "other";

bool NameChar(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

Labels LabelsOf(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels labels;
  labels.reserve(names.size() + 1);
  for (size_t i = 0; i < names.size(); ++i) labels.emplace_back(names[i], values[i]);
  return labels;
}

std::string FormatBound(double bound) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", bound);
  return buf;
}

}  // namespace

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

// ---- Histogram ----

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // Bucket lists are a dozen or so bounds: a linear scan beats a binary search's branches.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- MetricFamilyOf ----

template <class Cell>
MetricFamilyOf<Cell>::MetricFamilyOf(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

template <class Cell>
std::vector<std::string> MetricFamilyOf<Cell>::Normalize(const std::string_view* values, size_t n) const {
  std::vector<std::string> key(label_names_.size());
  for (size_t i = 0; i < key.size() && i < n; ++i) key[i] = std::string(values[i]);
  return key;
}

template <class Cell>
std::unique_ptr<Cell> MetricFamilyOf<Cell>::NewCell() const {
  if constexpr (std::is_same_v<Cell, Histogram>) {
    return std::make_unique<Histogram>(bounds_);
  } else {
    return std::make_unique<Cell>();
  }
}

template <class Cell>
Cell& MetricFamilyOf<Cell>::Find(const std::vector<std::string>& key) {
  {
    std::shared_lock lock(mu_);
    if (auto it = cells_.find(key); it != cells_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  if (auto it = cells_.find(key); it != cells_.end()) return *it->second;
  if (cells_.size() >= kMaxSeries) {
    if (!overflowed_) {
      overflowed_ = true;
      spdlog::warn("metric {} has {} series; new label values are counted under \"{}\"", name_, kMaxSeries,
                   kOverflowValue);
    }
    std::vector<std::string> overflow(label_names_.size(), std::string(kOverflowValue));
    auto [it, inserted] = cells_.try_emplace(std::move(overflow));
    if (inserted) it->second = NewCell();
    return *it->second;
  }
  auto [it, inserted] = cells_.try_emplace(key);
  it->second = NewCell();
  return *it->second;
}

template <class Cell>
Cell& MetricFamilyOf<Cell>::With(std::initializer_list<std::string_view> values) {
  if (values.size() == label_names_.size()) {
    std::shared_lock lock(mu_);
    if (auto it = cells_.find(values); it != cells_.end()) return *it->second;
  }
  return Find(Normalize(values.begin(), values.size()));
}

template <class Cell>
Cell& MetricFamilyOf<Cell>::With(const std::vector<std::string>& values) {
  if (values.size() == label_names_.size()) return Find(values);
  std::vector<std::string_view> views(values.begin(), values.end());
  return Find(Normalize(views.data(), views.size()));
}

template <class Cell>
void MetricFamilyOf<Cell>::Remove(std::initializer_list<std::string_view> values) {
  const std::vector<std::string> key = Normalize(values.begin(), values.size());
  std::unique_lock lock(mu_);
  cells_.erase(key);
}

template <class Cell>
MetricFamily MetricFamilyOf<Cell>::Snapshot() const {
  MetricFamily family;
  family.name = name_;
  family.help = help_;
  std::shared_lock lock(mu_);
  if constexpr (std::is_same_v<Cell, Histogram>) {
    family.type = MetricType::kHistogram;
    std::vector<std::string> bound_text;
    for (double b : bounds_) bound_text.push_back(FormatBound(b));
    bound_text.push_back("+Inf");
    for (const auto& [key, cell] : cells_) {
      const Histogram::Snapshot s = cell->snapshot();
      const Labels labels = LabelsOf(label_names_, key);
      for (size_t i = 0; i < s.cumulative.size(); ++i) {
        Labels with_le = labels;
        with_le.emplace_back("le", bound_text[i]);
        family.samples.push_back({"_bucket", std::move(with_le), static_cast<double>(s.cumulative[i])});
      }
      family.samples.push_back({"_sum", labels, s.sum});
      family.samples.push_back({"_count", labels, static_cast<double>(s.count())});
    }
  } else {
    family.type = std::is_same_v<Cell, Counter> ? MetricType::kCounter : MetricType::kGauge;
    for (const auto& [key, cell] : cells_) {
      family.samples.push_back({"", LabelsOf(label_names_, key), cell->value()});
    }
  }
  return family;
}

template class MetricFamilyOf<Counter>;
template class MetricFamilyOf<Gauge>;
template class MetricFamilyOf<Histogram>;

// ---- MetricsRegistry ----

MetricsRegistry::Entry& MetricsRegistry::Get(std::string_view name, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end()) return families_[std::string(name)] = Entry{type, nullptr, nullptr, nullptr};
  if (it->second.type != type) {
    throw std::invalid_argument("metric " + std::string(name) + " is already registered with another type");
  }
  return it->second;
}

namespace {
void CheckNames(std::string_view name, const std::vector<std::string>& labels) {
  if (!ValidMetricName(name)) throw std::invalid_argument("invalid metric name: " + std::string(name));
  for (const auto& label : labels) {
    if (!ValidLabelName(label) || label == "le" || label == "quantile") {
      throw std::invalid_argument("invalid label name \"" + label + "\" for metric " + std::string(name));
    }
  }
}
}  // namespace

CounterFamily& MetricsRegistry::Counter(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  std::lock_guard lock(mu_);
  Entry& e = Get(name, MetricType::kCounter);
  if (!e.counter) e.counter = std::make_unique<CounterFamily>(std::string(name), std::string(help), std::move(label_names));
  return *e.counter;
}

GaugeFamily& MetricsRegistry::Gauge(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  std::lock_guard lock(mu_);
  Entry& e = Get(name, MetricType::kGauge);
  if (!e.gauge) e.gauge = std::make_unique<GaugeFamily>(std::string(name), std::string(help), std::move(label_names));
  return *e.gauge;
}

HistogramFamily& MetricsRegistry::Histogram(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names, std::vector<double> bounds) {
  CheckNames(name, label_names);
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    throw std::invalid_argument("histogram " + std::string(name) + ": bucket bounds must be strictly ascending");
  }
  std::lock_guard lock(mu_);
  Entry& e = Get(name, MetricType::kHistogram);
  if (!e.histogram) {
    e.histogram = std::make_unique<HistogramFamily>(std::string(name), std::string(help), std::move(label_names),
                                                    std::move(bounds));
  }
  return *e.histogram;
}

int MetricsRegistry::AddCollector(MetricCollector collector) {
  std::lock_guard lock(mu_);
  const int id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::RemoveCollector(int id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::vector<MetricFamily> MetricsRegistry::Collect() const {
  std::vector<MetricFamily> out;
  std::vector<MetricCollector> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : families_) {
      if (e.counter) out.push_back(e.counter->Snapshot());
      if (e.gauge) out.push_back(e.gauge->Snapshot());
      if (e.histogram) out.push_back(e.histogram->Snapshot());
    }
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  // Collectors may query the database: not under the registry's lock.
  for (const auto& collect : collectors) collect(out);
  std::set<std::string, std::less<>> seen;
  static std::mutex warned_mu;
  static std::set<std::string, std::less<>> warned;
  std::erase_if(out, [&](const MetricFamily& f) {
    if (seen.insert(f.name).second) return false;
    std::lock_guard lock(warned_mu);
    if (warned.insert(f.name).second) spdlog::warn("metric family {} is produced twice; dropping the second", f.name);
    return true;
  });
  return out;
}

MetricsRegistry& Metrics() {
  static MetricsRegistry* registry = new MetricsRegistry();  // never destroyed: see the header
  return *registry;
}

}  // namespace steward::telemetry
