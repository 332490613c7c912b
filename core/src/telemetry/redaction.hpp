#pragma once
// Keeping secrets out of telemetry: every span attribute, status message and JSON argument passes
// through here before it is stored or exported. Builds on Redact (logging.hpp), which removes
// registered secrets and bearer tokens from text; this adds redaction by key name, for values
// Steward never saw before (a token a model passes as a tool argument).

#include <string_view>

#include <nlohmann/json.hpp>

#include "telemetry/span.hpp"

namespace steward::telemetry {

// True when a key names a credential: one of its words (split at '.', '_', '-', and camelCase)
// is token, password, passwd, secret, authorization, credential(s), cookie or apikey, or two
// adjacent words are api+key, private+key or access+key. "input_tokens" is not ("tokens").
[[nodiscard]] bool IsSecretKey(std::string_view key);

// A copy of `value` with the value of every secret-named key (at any depth) replaced by
// "[REDACTED]" and every string passed through Redact.
[[nodiscard]] nlohmann::json RedactJson(const nlohmann::json& value);

// Redacts a span in place: secret-named string attributes become "[REDACTED]", other string
// attributes (and JSON objects or arrays held in strings) are redacted as above, and so are the
// name and the status message. Numbers and booleans are kept: under a key like
// steward.first_token_ms they are timings and counts, and credentials are strings.
void RedactSpan(Span& span);

}  // namespace steward::telemetry
