#include "engine/confidence.hpp"

#include <algorithm>
#include <cmath>

namespace steward::engine {

namespace {
constexpr double kValidationWeight = 0.40;
constexpr double kToolWeight = 0.35;
constexpr double kSourcesWeight = 0.25;
constexpr double kNoToolEvidence = 0.6;
constexpr double kNoSources = 0.3;
constexpr double kSourcesForFullCredit = 3;
constexpr double kFallbackPenalty = 0.9;
}  // namespace

Confidence ComputeConfidence(const ConfidenceInputs& in) {
  const bool validation = in.finished_normally && in.answer_nonempty;
  double tool_success = kNoToolEvidence;
  if (in.tool_calls > 0) {
    tool_success = static_cast<double>(in.tool_calls - in.tool_errors) / static_cast<double>(in.tool_calls);
  }
  const double sources =
      in.sources > 0 ? std::min(1.0, static_cast<double>(in.sources) / kSourcesForFullCredit) : kNoSources;
  double score = 0;
  if (validation) {
    score = kValidationWeight + kToolWeight * tool_success + kSourcesWeight * sources;
    if (in.used_fallback) score *= kFallbackPenalty;
  }
  Confidence out;
  out.score = static_cast<int>(std::lround(std::clamp(score, 0.0, 1.0) * 100));
  out.factors = {
      {"validation_passed", validation},
      {"tool_calls", in.tool_calls},
      {"tool_errors", in.tool_errors},
      {"tool_success_rate", in.tool_calls > 0 ? nlohmann::json(tool_success) : nlohmann::json(nullptr)},
      {"sources_found", in.sources},
      {"used_fallback", in.used_fallback},
  };
  return out;
}

std::string ConfidenceLine(bool ok, int score) {
  return std::string(ok ? "✓ complete" : "✗ failed") + " (confidence " + std::to_string(score) + "%)";
}

}  // namespace steward::engine
