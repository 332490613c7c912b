#include "app/detail/config_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

namespace steward::app::detail {
namespace {

std::string DescribeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a single value";
    default: return "nothing";
  }
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Field Field::Child(std::string_view key, YAML::Node child, YAML::Mark at) const {
  std::string child_path = path.empty() ? std::string(key) : path + "." + std::string(key);
  return Field{ctx, std::move(child_path), std::move(child), at};
}

Error Field::Fail(std::string message) const {
  std::string where = ctx->source;
  if (!path.empty()) where += ": " + path;
  if (!mark.is_null()) {
    where += " (line " + std::to_string(mark.line + 1) + ", column " +
             std::to_string(mark.column + 1) + ")";
  }
  return MakeError(ErrorCode::kConfig, std::move(message), std::move(where));
}

Result<Scalar> Substitute(const Field& f, const std::string& raw) {
  std::string out;
  bool read_env = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '$' || i + 1 == raw.size() || (raw[i + 1] != '$' && raw[i + 1] != '{')) {
      out += raw[i];
      continue;
    }
    if (raw[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    const size_t close = raw.find('}', i + 2);
    if (close == std::string::npos) {
      return f.Fail(
          "unterminated \"${\" (expected ${NAME} or ${NAME:-default}; write $$ for a literal $)");
    }
    const std::string_view inner(raw.data() + i + 2, close - i - 2);
    const size_t separator = inner.find(":-");
    const std::string name(inner.substr(0, separator));
    if (!IsEnvName(name)) {
      return f.Fail("invalid environment variable name " + Quote(name) +
                    " (expected letters, digits and _, as in ${OPENAI_API_KEY})");
    }
    const std::optional<std::string> value = (*f.ctx->env)(name);
    const bool use_default = !value || (separator != std::string_view::npos && value->empty());
    if (use_default && separator == std::string_view::npos) {
      return f.Fail("environment variable " + name + " is not set (needed by " + f.path +
                    "; or write ${" + name + ":-default})");
    }
    out += use_default ? std::string(inner.substr(separator + 2)) : *value;
    read_env = true;
    i = close;
  }
  return Scalar{out, read_env ? raw : out};
}

Result<Scalar> ReadScalar(const Field& f, std::string_view expected) {
  if (!f.node.IsScalar()) {
    return f.Fail("expected " + std::string(expected) + ", got " + DescribeKind(f.node));
  }
  return Substitute(f, f.node.Scalar());
}

Status GetString(const Field& f, std::string& out, std::string* shown) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f);
  if (!s.ok()) return s.error();
  out = std::move(s->value);
  if (shown != nullptr) *shown = std::move(s->shown);
  return Status::Ok();
}

Status GetNumber(const Field& f, double lo, double hi, std::string_view expected, double& out) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f, expected);
  if (!s.ok()) return s.error();
  double value = 0;
  const std::string& text = s->value;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value < lo || value > hi) {
    return f.Fail("expected " + std::string(expected) + ", got " + Quote(s->shown));
  }
  out = value;
  return Status::Ok();
}

Status GetInt(const Field& f, int lo, int hi, int& out) {
  if (!f.present()) return Status::Ok();
  const std::string expected =
      "a whole number between " + std::to_string(lo) + " and " + std::to_string(hi);
  Result<Scalar> s = ReadScalar(f, expected);
  if (!s.ok()) return s.error();
  int value = 0;
  const std::string& text = s->value;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    return f.Fail("expected " + expected + ", got " + Quote(s->shown));
  }
  out = value;
  return Status::Ok();
}

Status GetChoice(const Field& f, const Keys& choices, std::string_view noun, std::string& out) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f);
  if (!s.ok()) return s.error();
  if (std::find(choices.begin(), choices.end(), s->value) == choices.end()) {
    return f.Fail("unknown " + std::string(noun) + " " + Quote(s->shown) + " (expected " +
                  JoinList(choices, " or ") + ")" + DidYouMean(s->value, choices));
  }
  out = std::move(s->value);
  return Status::Ok();
}

Status GetStringList(const Field& f, std::vector<std::string>& out) {
  if (!f.present()) return Status::Ok();
  if (!f.node.IsSequence()) {
    return f.Fail("expected a list of strings, e.g. [\"memory.*\"], got " + DescribeKind(f.node));
  }
  std::vector<std::string> items;
  for (size_t i = 0; i < f.node.size(); ++i) {
    const YAML::Node item = f.node[i];
    const Field element{f.ctx, f.path + "[" + std::to_string(i) + "]", item, item.Mark()};
    if (!item.IsScalar()) return element.Fail("expected a string, got " + DescribeKind(item));
    Result<Scalar> s = ReadScalar(element);
    if (!s.ok()) return s.error();
    if (s->value.empty()) return element.Fail("expected a non-empty string");
    items.push_back(std::move(s->value));
  }
  out = std::move(items);
  return Status::Ok();
}

Result<Mapping> Mapping::Open(const Field& f, const Keys* known) {
  Mapping m;
  m.self_ = f;
  if (!f.present()) return m;
  if (!f.node.IsMap()) {
    std::string expected = known ? " with keys " + JoinList(*known) : std::string(" of names");
    return f.Fail("expected a mapping" + expected + ", got " + DescribeKind(f.node));
  }
  for (const auto& pair : f.node) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, so references would dangle.
    const YAML::Node key = pair.first;
    const YAML::Node value = pair.second;
    const Field key_field{f.ctx, f.path, YAML::Node(), key.Mark()};
    if (!key.IsScalar()) return key_field.Fail("expected a plain key, got " + DescribeKind(key));
    const std::string name = key.Scalar();
    // A null value's own mark points past the line; its key is where the reader looks.
    Field child = f.Child(name, value, value.IsNull() ? key.Mark() : value.Mark());
    if (known && std::find(known->begin(), known->end(), name) == known->end()) {
      child.mark = key.Mark();
      return child.Fail("unknown key " + Quote(name) + " (expected one of: " + JoinList(*known) +
                        ")" + DidYouMean(name, *known));
    }
    // yaml-cpp keeps both copies of a repeated key; lookups would silently take the first.
    for (const Entry& earlier : m.entries_) {
      if (earlier.key == name) {
        child.mark = key.Mark();
        return child.Fail("duplicate key " + Quote(name) + " (first defined at line " +
                          std::to_string(earlier.key_mark.line + 1) + ")");
      }
    }
    m.entries_.push_back(Entry{name, key.Mark(), std::move(child)});
  }
  return m;
}

Field Mapping::Get(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return e.value;
  }
  return self_.Child(key, YAML::Node(YAML::NodeType::Undefined), self_.mark);
}

// Names of providers, models and agents appear in URLs, logs and `model` fields.
Status CheckName(const Mapping::Entry& e, std::string_view what) {
  const bool ok = !e.key.empty() && std::none_of(e.key.begin(), e.key.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || std::iscntrl(u);
  });
  if (ok) return Status::Ok();
  Field at = e.value;
  at.mark = e.key_mark;
  return at.Fail("invalid " + std::string(what) + " name " + Quote(e.key) +
                 " (expected a non-empty name without spaces)");
}

Status CheckReference(const Field& f, const std::string& name, const std::string& shown,
                      const Keys& defined, std::string_view noun, std::string_view section) {
  if (std::find(defined.begin(), defined.end(), name) != defined.end()) return Status::Ok();
  return f.Fail(std::string(noun) + " " + Quote(shown) + " is not defined under " +
                std::string(section) + ": (defined: " +
                JoinListOrNone(defined) + ")" +
                DidYouMean(name, defined));
}

}  // namespace steward::app::detail
