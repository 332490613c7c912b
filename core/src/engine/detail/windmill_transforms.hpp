#pragma once
// Steward's `${...}` templates as Windmill input transforms and JavaScript expressions:
// inputs.x -> flow_input.x, steps.a.output.b -> results.a.b, item / index -> flow_input.iter.value
// / .index, error.step / .message / .code -> error.step_id / .message / .name, and ${run.id} ->
// a mark the generated scripts replace with Windmill's job id (kRunIdMark).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::engine::detail {

// What ${run.id} becomes; the scripts' prelude puts the run's id in its place.
inline constexpr std::string_view kRunIdMark = "{{steward:run_id}}";

// A Steward template string as one JavaScript expression over flow_input, results and error.
// Errors: kInvalidArgument for a reference Windmill has no equivalent for.
[[nodiscard]] Result<std::string> TemplateToWindmillJs(std::string_view text);

// A branch condition as a JavaScript boolean expression. Errors as TemplateToWindmillJs.
[[nodiscard]] Result<std::string> ConditionToWindmillJs(std::string_view expr);

// The input transform for a step input: {type: static, value} when nothing in `value` is templated
// (`$${` unescaped to `${`), else {type: javascript, expr} building the same JSON value.
[[nodiscard]] Result<nlohmann::ordered_json> InputTransform(const nlohmann::json& value);

// {type: static, value} for a value that is never templated (a timeout, a parallelism).
[[nodiscard]] nlohmann::ordered_json StaticTransform(const nlohmann::json& value);

}  // namespace steward::engine::detail
