#pragma once
// Glob patterns over tool names, as written in agent configs ("memory.*", "web.fetch?").

#include <string_view>
#include <vector>
#include <string>

namespace steward::tools {

// True iff `text` matches `pattern` entirely: `*` matches any run of characters (dots
// included), `?` exactly one character, everything else itself. Case-sensitive.
[[nodiscard]] bool GlobMatch(std::string_view pattern, std::string_view text);

// True iff any of `patterns` matches `text`; an empty list matches nothing.
[[nodiscard]] bool GlobMatchAny(const std::vector<std::string>& patterns, std::string_view text);

}  // namespace steward::tools
