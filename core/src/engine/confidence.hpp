#pragma once
// The 0–100 confidence every answer ends with, and the factors behind it. Computed by the
// core from what it observed (tool calls through /mcp, the run's outcome), never taken from the
// model's own claim, so every framework is scored the same way.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::engine {

struct ConfidenceInputs {
  bool finished_normally = false;  // the runner reported done, not an error
  bool answer_nonempty = false;
  int64_t tool_calls = 0;
  int64_t tool_errors = 0;
  int64_t sources = 0;  // items returned by successful tool calls
  bool used_fallback = false;
};

struct Confidence {
  int score = 0;  // 0..100
  nlohmann::json factors;  // {validation_passed, tool_success_rate, sources_found, ...}
};

// Weights: validation 40, tool success 35, sources 25. With no tool calls there is no evidence
// either way, so tool success counts as 0.6 and sources as 0.3: an unsupported answer can't score
// above ~69.
[[nodiscard]] Confidence ComputeConfidence(const ConfidenceInputs& in);

// "✓ complete (confidence 82%)" or "✗ failed (confidence 0%)".
[[nodiscard]] std::string ConfidenceLine(bool ok, int score);

}  // namespace steward::engine
