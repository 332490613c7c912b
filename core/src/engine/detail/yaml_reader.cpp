#include "engine/detail/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "common/message_text.hpp"
#include "engine/duration.hpp"

namespace steward::engine::detail {
namespace {

using nlohmann::json;

bool IsPlainNull(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

}  // namespace

Where Where::Key(std::string_view key, const YAML::Node& node) const {
  return Where{file, path.empty() ? std::string(key) : path + "." + std::string(key), MarkOf(node)};
}

Where Where::Index(size_t i, const YAML::Node& node) const {
  return Where{file, path + "[" + std::to_string(i) + "]", MarkOf(node)};
}

YAML::Mark Where::MarkOf(const YAML::Node& node) const {
  return node.IsDefined() && !node.Mark().is_null() ? node.Mark() : mark;
}

Error Where::Fail(std::string message) const {
  std::string where = *file;
  if (!path.empty()) where += ": " + path;
  if (!mark.is_null()) {
    where += " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ")";
  }
  return MakeError(ErrorCode::kConfig, std::move(message), std::move(where));
}

bool Present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

std::string Got(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return Quote(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool Contains(const Names& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Status RequireMap(const Where& w, const YAML::Node& n, std::string_view what) {
  if (!n.IsMap()) return w.Fail("expected " + std::string(what) + ", got " + Got(n));
  return Status::Ok();
}

Status CheckKeys(const Where& w, const YAML::Node& map, const Names& allowed, std::string_view what) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) return w.Fail("keys must be plain names, got " + Got(it->first));
    const std::string key = it->first.Scalar();
    Where at = w.Key(key, it->first);
    if (!seen.insert(key).second) return at.Fail("duplicate key " + Quote(key));
    if (!Contains(allowed, key)) {
      return at.Fail("unknown key " + Quote(key) + " in " + std::string(what) + DidYouMean(key, allowed) +
                     " (expected one of: " + JoinList(allowed) + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> ReadString(const Where& w, const YAML::Node& n, std::string_view expected) {
  if (!n.IsScalar()) return w.Fail("expected " + std::string(expected) + ", got " + Got(n));
  return n.Scalar();
}

Status GetString(const Where& w, const YAML::Node& n, std::string& out, std::string_view expected) {
  if (!Present(n)) return Status::Ok();
  auto s = ReadString(w, n, expected);
  if (!s.ok()) return s.error();
  out = std::move(s).value();
  return Status::Ok();
}

Status GetInt(const Where& w, const YAML::Node& n, int lo, int hi, int& out) {
  if (!Present(n)) return Status::Ok();
  std::string expected = hi == INT_MAX ? "an integer >= " + std::to_string(lo)
                                       : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!n.IsScalar()) return w.Fail("expected " + expected + ", got " + Got(n));
  const std::string& text = n.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || v < lo || v > hi) {
    return w.Fail("expected " + expected + ", got " + Quote(text));
  }
  out = static_cast<int>(v);
  return Status::Ok();
}

Status GetDouble(const Where& w, const YAML::Node& n, double lo, double hi, std::string_view expected, double& out) {
  if (!Present(n)) return Status::Ok();
  if (!n.IsScalar()) return w.Fail("expected " + std::string(expected) + ", got " + Got(n));
  const std::string& text = n.Scalar();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < lo || v > hi) {
    return w.Fail("expected " + std::string(expected) + ", got " + Quote(text));
  }
  out = v;
  return Status::Ok();
}

Status GetDuration(const Where& w, const YAML::Node& n, std::chrono::milliseconds& out) {
  if (!Present(n)) return Status::Ok();
  constexpr std::string_view kExpected = "a duration such as \"250ms\", \"30s\", \"5m\", \"2h\" or \"1m30s\"";
  if (!n.IsScalar()) return w.Fail("expected " + std::string(kExpected) + ", got " + Got(n));
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) return w.Fail("expected " + std::string(kExpected) + ", got " + Quote(n.Scalar()));
  out = *d;
  return Status::Ok();
}

Status GetStringList(const Where& w, const YAML::Node& n, Names& out) {
  if (!Present(n)) return Status::Ok();
  if (n.IsScalar()) {
    out = {n.Scalar()};
    return Status::Ok();
  }
  if (!n.IsSequence()) return w.Fail("expected a list of names, got " + Got(n));
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    auto s = ReadString(w.Index(i, n[i]), n[i], "a name");
    if (!s.ok()) return s.error();
    out.push_back(std::move(s).value());
  }
  return Status::Ok();
}

json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : n) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (auto it = n.begin(); it != n.end(); ++it) out[it->first.Scalar()] = YamlToJson(it->second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (IsPlainNull(s)) return nullptr;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str() + s.size() && errno == 0 && !s.empty() && s[0] != '+') return i;
      double d = std::strtod(s.c_str(), &end);
      bool numeric_start = std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.';
      if (end == s.c_str() + s.size() && numeric_start && std::isfinite(d)) return d;
      return s;
    }
  }
  return nullptr;
}

}  // namespace steward::engine::detail
