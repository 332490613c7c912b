#pragma once
// Workflow templates: the ${...} placeholders in step fields (see workflow_definition.hpp) and
// the `when` conditions of branch steps, evaluated against a run's JSON context:
//
//   { "inputs": {...}, "steps": {"ID": {"output": ...}, ...}, "item": ..., "index": N,
//     "run": {"id": "..."} }
//
// Inside ${...} and in conditions the grammar is the same small expression language:
//   reference   inputs.topic | steps.fetch.output.items[0].title | steps.fetch.output.items.0 | item | index | run.id
//   literal     42  -1.5  "text"  'text'  true  false  null
//   function    length(x)  (array/object size, string length in bytes, null -> 0)
//   comparison  == != < <= > >=   (numbers numerically, strings lexicographically, ==/!= on any JSON)
//   logic       and or not, parentheses
// A condition may write references bare or wrapped: `steps.a.output.n > 0` == `${steps.a.output.n} > 0`.
// `$${` in a template is a literal `${`. A missing reference is an error naming the reference
// and what exists at the point it stopped matching. Pure functions; any thread.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::engine {

// Renders every string inside `value` (recursing through objects and arrays; keys are not
// templated). A string that is exactly one "${expr}" becomes the expression's JSON value (type
// kept); any other string with placeholders becomes a string (strings inserted raw, other values
// as compact JSON). Non-string scalars are returned unchanged. Errors: kInvalidArgument.
[[nodiscard]] Result<nlohmann::json> RenderTemplate(const nlohmann::json& value, const nlohmann::json& context);

// The same for one string.
[[nodiscard]] Result<nlohmann::json> RenderTemplateString(std::string_view text, const nlohmann::json& context);

// Evaluates a branch `when` condition; the result's truthiness (IsTruthy). Errors: kInvalidArgument
// for syntax errors, missing references and ordering comparisons between mismatched types.
[[nodiscard]] Result<bool> EvaluateCondition(std::string_view expr, const nlohmann::json& context);

// Evaluates one expression (the text between ${ and }) to its JSON value.
[[nodiscard]] Result<nlohmann::json> EvaluateExpression(std::string_view expr, const nlohmann::json& context);

// false for null, false, 0, "", [] and {}; true otherwise.
[[nodiscard]] bool IsTruthy(const nlohmann::json& value);

// A reference found in a template or condition, for validation at load time.
struct TemplateReference {
  std::vector<std::string> path;  // {"steps", "fetch", "output", "items", "0"}; array indices as digits
  std::string text;               // as written, e.g. "steps.fetch.output.items[0]"
};

// Syntax-checks a template string (or a condition, with `is_condition`) without a context and
// returns the references it contains, in order. Errors: kInvalidArgument naming the position.
[[nodiscard]] Result<std::vector<TemplateReference>> ParseTemplateReferences(std::string_view text);
[[nodiscard]] Result<std::vector<TemplateReference>> ParseConditionReferences(std::string_view expr);

// Whether the string contains any ${...} placeholder (after `$${` escapes).
[[nodiscard]] bool HasPlaceholders(std::string_view text);

// For exporters (engine/windmill_export): the same semantics as one JavaScript expression.
// `reference` maps each reference to a JS expression (e.g. inputs.x -> flow_input.x). A template
// that is exactly one placeholder yields the value; any other yields a string (non-strings as
// JSON). A condition yields a boolean with Steward's truthiness ([] and {} are false).
using JsReferenceMapper = std::function<Result<std::string>(const TemplateReference&)>;
[[nodiscard]] Result<std::string> TemplateToJavaScript(std::string_view text, const JsReferenceMapper& reference);
[[nodiscard]] Result<std::string> ConditionToJavaScript(std::string_view expr, const JsReferenceMapper& reference);

}  // namespace steward::engine
