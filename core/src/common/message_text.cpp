#include "common/message_text.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace steward {
namespace {

// The string and string_view overloads differ only in the element type.
template <typename Word>
std::string DidYouMeanIn(std::string_view got, std::span<const Word> candidates) {
  const size_t limit = std::clamp<size_t>(got.size() / 3, 1, 3);
  std::string_view best;
  size_t best_distance = limit + 1;
  for (std::string_view candidate : candidates) {
    const size_t d = EditDistance(got, candidate);
    if (d < best_distance && d < got.size()) {  // "q" is not a typo of "p"
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? "" : "; did you mean \"" + std::string(best) + "\"?";
}

template <typename Word>
std::string JoinListOf(std::span<const Word> items, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? last_separator : std::string_view(", ");
    out += items[i];
  }
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string DidYouMean(std::string_view got, std::span<const std::string_view> candidates) {
  return DidYouMeanIn(got, candidates);
}

std::string DidYouMean(std::string_view got, std::span<const std::string> candidates) {
  return DidYouMeanIn(got, candidates);
}

std::string JoinList(std::span<const std::string_view> items, std::string_view last_separator) {
  return JoinListOf(items, last_separator);
}

std::string JoinList(std::span<const std::string> items, std::string_view last_separator) {
  return JoinListOf(items, last_separator);
}

std::string JoinListOrNone(std::span<const std::string_view> items) {
  return items.empty() ? "none" : JoinList(items);
}

std::string JoinListOrNone(std::span<const std::string> items) {
  return items.empty() ? "none" : JoinList(items);
}

std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string shown(text.substr(0, kMaxShown));
  for (char& c : shown) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return "\"" + shown + (text.size() > kMaxShown ? "...\"" : "\"");
}

}  // namespace steward
