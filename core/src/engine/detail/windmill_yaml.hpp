#pragma once
// The YAML text of the Windmill export's files (flow.yaml, *.schedule.yaml, wmill.yaml), written
// by yaml-cpp's emitter: block style, keys in the JSON object's order.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace steward::engine::detail {

// `value` as block-style YAML ending in a newline, after `comment` (one `# ` line) if not empty.
// A string stays a string for any YAML reader: yaml-cpp quotes what a plain scalar cannot hold,
// and strings that would read as a bool, null, number or date ("yes", "~", "5", "2024-01-01")
// are double-quoted too. Empty objects and arrays are written `{}` and `[]`.
[[nodiscard]] std::string ToYaml(const nlohmann::ordered_json& value, std::string_view comment = {});

}  // namespace steward::engine::detail
