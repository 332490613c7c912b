#pragma once
// Process-wide logging: spdlog to stderr, plain or JSON lines, with every registered secret
// (API keys, tokens) replaced by "[REDACTED]" before a line is written anywhere. A JSON line
// logged while a span is active on the thread (ScopedSpan::Activate) carries trace_id and span_id.

#include <string>
#include <string_view>

namespace steward::telemetry {

enum class LogFormat { kText, kJson };

// Installs the default logger. Call once at start-up, before other threads log.
void SetupLogging(LogFormat format, std::string_view level);

// Adds a secret to scrub from every log line from now on. Values shorter than 6 characters are
// ignored (they would redact ordinary words). Thread-safe.
void RegisterSecret(std::string secret);

// Replaces every registered secret and every "Bearer <token>" in `text`.
[[nodiscard]] std::string Redact(std::string_view text);
// The same in place, without copying text that holds nothing to replace; true when it did.
bool RedactText(std::string& text);

}  // namespace steward::telemetry
