#pragma once
// Checks tool arguments against a tool's input_schema before the tool runs, so that a model
// gets an error naming the field and what was expected instead of a tool failing obscurely.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::tools {

// One place where a value breaks its schema; rendered as "path: message".
struct SchemaViolation {
  std::string path;     // "arguments.items[2].name"
  std::string message;  // "expected integer, got string \"5\""
};

// Returns where `value` breaks `schema` (at most `max_violations`), empty when it conforms.
// Supported keywords: type (string or list), enum, const, required, properties,
// additionalProperties (bool or schema), items, minItems/maxItems, minimum/maximum,
// exclusiveMinimum/exclusiveMaximum (numeric), minLength/maxLength (in code points),
// anyOf, format "date-time" and "date". Other keywords ($ref, pattern, ...) are ignored, so a
// schema we only partly understand never rejects a valid value.
[[nodiscard]] std::vector<SchemaViolation> FindSchemaViolations(const nlohmann::json& schema,
                                                                const nlohmann::json& value,
                                                                std::string_view root = "arguments",
                                                                size_t max_violations = 10);

// Ok, or kInvalidArgument whose message lists the violations ("arguments.limit: must be <= 50, got 80; ...").
[[nodiscard]] Status ValidateAgainstSchema(const nlohmann::json& schema,
                                           const nlohmann::json& value,
                                           std::string_view root = "arguments");

// True iff `text` is an RFC 3339 date-time ("2024-05-01T09:30:00Z", "...+02:00", fraction ok).
[[nodiscard]] bool IsRfc3339DateTime(std::string_view text);

}  // namespace steward::tools
