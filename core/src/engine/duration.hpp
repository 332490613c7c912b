#pragma once
// Durations as steward.yaml writes them: "250ms", "30s", "5m", "2h", "1d" and sums such as
// "1m30s" (step timeouts, retry backoffs, approval deadlines).

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace steward::engine {

// "30s", "5m", "250ms", "2h", "1m30s", "1d" -> milliseconds. Errors: kInvalidArgument.
[[nodiscard]] Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest of those forms for `d` ("1m30s", "250ms", "0s").
[[nodiscard]] std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace steward::engine
