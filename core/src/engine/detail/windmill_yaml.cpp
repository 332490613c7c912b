#include "engine/detail/windmill_yaml.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <yaml-cpp/yaml.h>

namespace steward::engine::detail {
namespace {

using ojson = nlohmann::ordered_json;

// yaml-cpp writes every string it can as a plain scalar, "true" and "5" included, which YAML 1.1
// and 1.2 readers then type as a bool or number. Anything that starts like a number (a date,
// "1:20", "0x1F", a cron line) or is one of the 1.1 bool/null words or the merge key is quoted.
bool ReadsAsNonString(const std::string& s) {
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kWords = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "<<"};
  if (kWords.count(lower) > 0) return true;
  const size_t i = !lower.empty() && (lower[0] == '-' || lower[0] == '+') ? 1 : 0;
  if (i >= lower.size()) return false;
  if (std::isdigit(static_cast<unsigned char>(lower[i]))) return true;
  if (lower[i] != '.') return false;
  const std::string rest = lower.substr(i);
  return rest == ".inf" || rest == ".nan" || (rest.size() > 1 && std::isdigit(static_cast<unsigned char>(rest[1])));
}

void Emit(const ojson& v, YAML::Emitter& out) {
  if (v.is_object()) {
    if (v.empty()) out << YAML::Flow;
    out << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << YAML::Key;
      Emit(ojson(it.key()), out);
      out << YAML::Value;
      Emit(it.value(), out);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    if (v.empty()) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const auto& item : v) Emit(item, out);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (ReadsAsNonString(s)) out << YAML::DoubleQuoted;
    out << s;
  } else if (v.is_boolean()) {
    out << v.get<bool>();
  } else if (v.is_null()) {
    out << YAML::Null;
  } else {
    // JSON's shortest round-trip form of the number, which YAML reads as the same number.
    out << v.dump();
  }
}

}  // namespace

std::string ToYaml(const ojson& value, std::string_view comment) {
  YAML::Emitter out;
  if (!comment.empty()) out << YAML::Comment(std::string(comment));
  Emit(value, out);
  return std::string(out.c_str()) + "\n";
}

}  // namespace steward::engine::detail
