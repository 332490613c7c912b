#include "telemetry/span.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <random>

namespace steward::telemetry {

namespace {

// Per-thread generator seeded from the OS: ids must be unique, not secret, and this keeps
// StartSpan free of locks and syscalls.
std::string RandomHexId(size_t bytes) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes * 2, '0');
  for (;;) {
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t r = rng();
      for (size_t j = 0; j < 8 && i + j < bytes; ++j, r >>= 8) {
        out[2 * (i + j)] = kHex[(r >> 4) & 0xF];
        out[2 * (i + j) + 1] = kHex[r & 0xF];
      }
    }
    if (out.find_first_not_of('0') != std::string::npos) return out;
  }
}

bool IsHexChar(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c; });
  return out;
}

constexpr std::array<std::string_view, 6> kKindNames = {"unspecified", "internal", "server",
                                                        "client",      "producer", "consumer"};
constexpr std::array<std::string_view, 3> kStatusNames = {"unset", "ok", "error"};

}  // namespace

std::string NewTraceId() { return RandomHexId(16); }
std::string NewSpanId() { return RandomHexId(8); }

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsHexId(std::string_view id, size_t length) {
  return id.size() == length && std::all_of(id.begin(), id.end(), IsHexChar) &&
         id.find_first_not_of('0') != std::string_view::npos;
}

std::optional<SpanContext> ParseTraceparent(std::string_view header) {
  // Surrounding whitespace is allowed by HTTP; everything else must be exact.
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  // version(2) - trace-id(32) - parent-id(16) - flags(2) = 55 characters.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const std::string_view version = header.substr(0, 2);
  if (!IsHexChar(version[0]) || !IsHexChar(version[1]) || Lower(version) == "ff") return std::nullopt;
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (header.size() > 55 && header[55] != '-') return std::nullopt;  // a future version's extra fields
  const std::string_view trace_id = header.substr(3, 32);
  const std::string_view span_id = header.substr(36, 16);
  const std::string_view flags = header.substr(53, 2);
  if (!IsHexId(trace_id, 32) || !IsHexId(span_id, 16) || !IsHexChar(flags[0]) || !IsHexChar(flags[1])) {
    return std::nullopt;
  }
  SpanContext context;
  context.trace_id = Lower(trace_id);
  context.span_id = Lower(span_id);
  context.sampled = (std::stoi(std::string(flags), nullptr, 16) & 1) != 0;
  context.remote = true;
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  if (!context.valid()) return {};
  return "00-" + context.trace_id + "-" + context.span_id + (context.sampled ? "-01" : "-00");
}

std::string_view KindName(SpanKind kind) {
  const auto i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "internal";
}

std::optional<SpanKind> KindFromName(std::string_view name) {
  for (size_t i = 1; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<SpanKind>(i);
  }
  return std::nullopt;
}

std::string_view StatusName(SpanStatus status) {
  const auto i = static_cast<size_t>(status);
  return i < kStatusNames.size() ? kStatusNames[i] : "unset";
}

std::optional<SpanStatus> StatusFromName(std::string_view name) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<SpanStatus>(i);
  }
  return std::nullopt;
}

}  // namespace steward::telemetry
