#include "engine/detail/windmill_transforms.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "engine/template.hpp"

namespace steward::engine::detail {
namespace {

using ojson = nlohmann::ordered_json;
using nlohmann::json;

bool IsJsIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; });
}

std::string Accessor(const std::vector<std::string>& path, size_t from) {
  std::string out;
  for (size_t i = from; i < path.size(); ++i) {
    const std::string& seg = path[i];
    const bool digits = !seg.empty() && std::all_of(seg.begin(), seg.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (digits) {
      out += "[" + seg + "]";
    } else if (IsJsIdentifier(seg)) {
      out += "." + seg;
    } else {
      out += "[" + json(seg).dump() + "]";
    }
  }
  return out;
}

Result<std::string> MapReference(const TemplateReference& ref) {
  const auto& p = ref.path;
  const std::string& root = p[0];
  if (root == "inputs") return "flow_input" + Accessor(p, 1);
  if (root == "steps") {
    if (p.size() < 2) return MakeError(ErrorCode::kInvalidArgument, "'" + ref.text + "': expected steps.ID.output");
    std::vector<std::string> id = {p[1]};
    return "results" + Accessor(id, 0) + Accessor(p, 3);
  }
  if (root == "item") return "flow_input.iter.value" + Accessor(p, 1);
  if (root == "index") return std::string("flow_input.iter.index");
  if (root == "run") return json(std::string(kRunIdMark)).dump();
  if (root == "error") {
    if (p.size() >= 2 && p[1] == "step") return std::string("error.step_id");
    if (p.size() >= 2 && p[1] == "message") return std::string("error.message");
    if (p.size() >= 2 && p[1] == "code") return std::string("error.name");
    return std::string("error");
  }
  return MakeError(ErrorCode::kInvalidArgument, "'" + ref.text + "' has no Windmill equivalent");
}

bool ContainsPlaceholders(const json& v) {
  if (v.is_string()) return HasPlaceholders(v.get_ref<const std::string&>());
  if (v.is_object() || v.is_array()) {
    for (const auto& item : v) {
      if (ContainsPlaceholders(item)) return true;
    }
  }
  return false;
}

// `$${` is a literal `${` for Steward; a static Windmill value has no escapes.
json Unescape(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (size_t pos = 0; (pos = s.find("$${", pos)) != std::string::npos;) {
      s.erase(pos, 1);
      pos += 2;
    }
    return s;
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = Unescape(it.value());
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& item : v) out.push_back(Unescape(item));
    return out;
  }
  return v;
}

Result<std::string> JsValue(const json& v) {
  if (v.is_string()) return TemplateToWindmillJs(v.get_ref<const std::string&>());
  if (v.is_object()) {
    std::string out = "({";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto item = JsValue(it.value());
      if (!item.ok()) return item;
      out += (first ? "" : ", ") + json(it.key()).dump() + ": " + *item;
      first = false;
    }
    return out + "})";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      auto item = JsValue(v[i]);
      if (!item.ok()) return item;
      out += (i ? ", " : "") + *item;
    }
    return out + "]";
  }
  return v.dump();
}

}  // namespace

Result<std::string> TemplateToWindmillJs(std::string_view text) { return TemplateToJavaScript(text, MapReference); }

Result<std::string> ConditionToWindmillJs(std::string_view expr) { return ConditionToJavaScript(expr, MapReference); }

Result<ojson> InputTransform(const json& value) {
  if (!ContainsPlaceholders(value)) return StaticTransform(Unescape(value));
  auto js = JsValue(value);
  if (!js.ok()) return js.error();
  return ojson{{"type", "javascript"}, {"expr", *js}};
}

ojson StaticTransform(const json& value) { return ojson{{"type", "static"}, {"value", ojson::parse(value.dump())}}; }

}  // namespace steward::engine::detail
