#include "telemetry/span_tree.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace steward::telemetry {

std::vector<TreeRow> BuildSpanTree(const std::vector<SpanLink>& spans) {
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);

  std::vector<std::vector<size_t>> children(spans.size());
  std::vector<size_t> roots;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto parent = by_id.find(spans[i].parent_span_id);
    const bool has_parent = !spans[i].parent_span_id.empty() && parent != by_id.end() && parent->second != i;
    (has_parent ? children[parent->second] : roots).push_back(i);
  }
  const auto by_start = [&](size_t a, size_t b) {
    return spans[a].start_ns != spans[b].start_ns ? spans[a].start_ns < spans[b].start_ns : a < b;
  };
  std::sort(roots.begin(), roots.end(), by_start);
  for (auto& list : children) std::sort(list.begin(), list.end(), by_start);

  std::vector<TreeRow> rows;
  rows.reserve(spans.size());
  std::vector<bool> placed(spans.size(), false);
  std::function<void(size_t, int, const std::string&, bool)> visit = [&](size_t i, int depth,
                                                                          const std::string& indent, bool last) {
    placed[i] = true;
    rows.push_back({i, depth, depth == 0 ? std::string() : indent + (last ? "└─ " : "├─ ")});
    const std::string child_indent = depth == 0 ? std::string() : indent + (last ? "   " : "│  ");
    const auto& kids = children[i];
    for (size_t k = 0; k < kids.size(); ++k) {
      if (!placed[kids[k]]) visit(kids[k], depth + 1, child_indent, k + 1 == kids.size());
    }
  };
  for (size_t r : roots) visit(r, 0, "", true);
  // Spans on a parent cycle were reachable from no root: show them as roots.
  for (size_t i = 0; i < spans.size(); ++i) {
    if (!placed[i]) visit(i, 0, "", true);
  }
  return rows;
}

}  // namespace steward::telemetry
