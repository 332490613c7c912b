#pragma once
// Turns a flat list of spans (as stored) into the tree `steward trace` prints: parents before
// children, siblings by start time, with the box-drawing prefix of each line.

#include <cstdint>
#include <string>
#include <vector>

namespace steward::telemetry {

struct SpanLink {
  std::string span_id;
  std::string parent_span_id;  // empty, or not among the spans: the span is shown as a root
  int64_t start_ns = 0;
};

struct TreeRow {
  size_t index = 0;    // into the input
  int depth = 0;       // 0 for roots
  std::string prefix;  // "", "├─ ", "│  └─ ", ...
};

// Depth-first order of every input span exactly once (a cycle or duplicate id cannot hide or
// repeat one: each span is placed under its first-seen parent, cycles become roots).
[[nodiscard]] std::vector<TreeRow> BuildSpanTree(const std::vector<SpanLink>& spans);

}  // namespace steward::telemetry
