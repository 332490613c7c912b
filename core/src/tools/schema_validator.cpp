#include "tools/schema_validator.hpp"

#include <cctype>
#include <cmath>
#include <optional>

namespace steward::tools {

namespace {

using nlohmann::json;

// The JSON Schema type name of a value; integral numbers are "integer".
std::string_view TypeOf(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: {
      const double d = v.get<double>();
      return std::isfinite(d) && std::floor(d) == d ? "integer" : "number";
    }
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool HasType(const json& v, std::string_view type) {
  const std::string_view actual = TypeOf(v);
  if (type == actual) return true;
  return type == "number" && actual == "integer";
}

// A short rendering of a value for error messages: models act on seeing what they sent.
std::string Preview(const json& v) {
  std::string text = v.dump();
  constexpr size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string DescribeActual(const json& v) {
  const std::string_view type = TypeOf(v);
  if (type == "object" || type == "array") return std::string(type);
  return std::string(type) + " " + Preview(v);
}

// The expected types of a schema, for messages: "string", "string or null".
std::string DescribeExpected(const json& schema) {
  if (!schema.is_object()) return "any value";
  auto it = schema.find("type");
  if (it == schema.end()) {
    if (schema.contains("enum")) return "one of " + schema["enum"].dump();
    return "any value";
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string out;
    for (size_t i = 0; i < it->size(); ++i) {
      if (i > 0) out += (i + 1 == it->size()) ? " or " : ", ";
      out += (*it)[i].is_string() ? (*it)[i].get<std::string>() : (*it)[i].dump();
    }
    return out;
  }
  return "any value";
}

bool IsIdentifier(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string Child(const std::string& path, std::string_view key) {
  if (IsIdentifier(key)) return path + "." + std::string(key);
  return path + "[" + json(std::string(key)).dump() + "]";
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string FormatNumber(double d) {
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return json(d).dump();
}

bool Digits(std::string_view s, size_t pos, size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsDate(std::string_view s) {
  int y = 0, m = 0, d = 0;
  return s.size() == 10 && Digits(s, 0, 4, &y) && s[4] == '-' && Digits(s, 5, 2, &m) &&
         s[7] == '-' && Digits(s, 8, 2, &d) && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

class Validator {
 public:
  explicit Validator(size_t max) : max_(max) {}

  void Check(const json& schema, const json& value, const std::string& path) {
    if (Full() || !schema.is_object()) return;  // `true`/`{}`/unknown shapes accept anything

    if (auto it = schema.find("type"); it != schema.end()) {
      bool ok = false;
      if (it->is_string()) {
        ok = HasType(value, it->get_ref<const std::string&>());
      } else if (it->is_array()) {
        for (const auto& t : *it) ok = ok || (t.is_string() && HasType(value, t.get_ref<const std::string&>()));
      } else {
        ok = true;
      }
      if (!ok) {
        Add(path, "expected " + DescribeExpected(schema) + ", got " + DescribeActual(value));
        return;  // the remaining keywords would only repeat the type error
      }
    }

    if (auto it = schema.find("const"); it != schema.end() && value != *it) {
      Add(path, "expected " + Preview(*it) + ", got " + Preview(value));
    }
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      bool found = false;
      for (const auto& option : *it) found = found || option == value;
      if (!found) Add(path, "expected one of " + it->dump() + ", got " + Preview(value));
    }
    if (auto it = schema.find("anyOf"); it != schema.end() && it->is_array() && !it->empty()) {
      CheckAnyOf(*it, value, path);
    }

    if (value.is_number()) CheckNumber(schema, value.get<double>(), path);
    if (value.is_string()) CheckString(schema, value.get_ref<const std::string&>(), path);
    if (value.is_array()) CheckArray(schema, value, path);
    if (value.is_object()) CheckObject(schema, value, path);
  }

  std::vector<SchemaViolation> Take() { return std::move(violations_); }

 private:
  bool Full() const { return violations_.size() >= max_; }

  void Add(const std::string& path, std::string message) {
    if (!Full()) violations_.push_back({path, std::move(message)});
  }

  void CheckAnyOf(const json& branches, const json& value, const std::string& path) {
    for (const auto& branch : branches) {
      Validator probe(1);
      probe.Check(branch, value, path);
      if (probe.violations_.empty()) return;
    }
    std::string expected;
    for (size_t i = 0; i < branches.size(); ++i) {
      if (i > 0) expected += " or ";
      expected += DescribeExpected(branches[i]);
    }
    Add(path, "expected " + expected + ", got " + DescribeActual(value));
  }

  void CheckNumber(const json& schema, double v, const std::string& path) {
    auto bound = [&](const char* key) -> std::optional<double> {
      auto it = schema.find(key);
      if (it == schema.end() || !it->is_number()) return std::nullopt;
      return it->get<double>();
    };
    if (auto b = bound("minimum"); b && v < *b) {
      Add(path, "must be >= " + FormatNumber(*b) + ", got " + FormatNumber(v));
    }
    if (auto b = bound("maximum"); b && v > *b) {
      Add(path, "must be <= " + FormatNumber(*b) + ", got " + FormatNumber(v));
    }
    if (auto b = bound("exclusiveMinimum"); b && v <= *b) {
      Add(path, "must be > " + FormatNumber(*b) + ", got " + FormatNumber(v));
    }
    if (auto b = bound("exclusiveMaximum"); b && v >= *b) {
      Add(path, "must be < " + FormatNumber(*b) + ", got " + FormatNumber(v));
    }
  }

  void CheckString(const json& schema, const std::string& s, const std::string& path) {
    const size_t length = CodePoints(s);
    if (auto it = schema.find("minLength"); it != schema.end() && it->is_number_unsigned() &&
                                            length < it->get<size_t>()) {
      Add(path, "must be at least " + std::to_string(it->get<size_t>()) +
                    " characters long, got " + std::to_string(length));
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && it->is_number_unsigned() &&
                                            length > it->get<size_t>()) {
      Add(path, "must be at most " + std::to_string(it->get<size_t>()) +
                    " characters long, got " + std::to_string(length));
    }
    if (auto it = schema.find("format"); it != schema.end() && it->is_string()) {
      const auto& format = it->get_ref<const std::string&>();
      if (format == "date-time" && !IsRfc3339DateTime(s)) {
        Add(path, "expected a date-time like \"2024-05-01T09:30:00Z\", got " + Preview(json(s)));
      } else if (format == "date" && !IsDate(s)) {
        Add(path, "expected a date like \"2024-05-01\", got " + Preview(json(s)));
      }
    }
  }

  void CheckArray(const json& schema, const json& value, const std::string& path) {
    if (auto it = schema.find("minItems"); it != schema.end() && it->is_number_unsigned() &&
                                           value.size() < it->get<size_t>()) {
      Add(path, "must have at least " + std::to_string(it->get<size_t>()) + " items, got " +
                    std::to_string(value.size()));
    }
    if (auto it = schema.find("maxItems"); it != schema.end() && it->is_number_unsigned() &&
                                           value.size() > it->get<size_t>()) {
      Add(path, "must have at most " + std::to_string(it->get<size_t>()) + " items, got " +
                    std::to_string(value.size()));
    }
    if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
      for (size_t i = 0; i < value.size() && !Full(); ++i) {
        Check(*it, value[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }

  void CheckObject(const json& schema, const json& value, const std::string& path) {
    const json* properties = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
      properties = &*it;
    }
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const auto& name : *it) {
        if (!name.is_string() || value.contains(name.get_ref<const std::string&>())) continue;
        const std::string key = name.get<std::string>();
        std::string expected;
        if (properties != nullptr && properties->contains(key)) {
          expected = " (" + DescribeExpected((*properties)[key]) + ")";
        }
        Add(Child(path, key), "required" + expected + " but missing");
      }
    }
    const auto additional = schema.find("additionalProperties");
    for (const auto& [key, item] : value.items()) {
      if (Full()) return;
      const json* property = nullptr;
      if (properties != nullptr) {
        if (auto it = properties->find(key); it != properties->end()) property = &*it;
      }
      if (property != nullptr) {
        Check(*property, item, Child(path, key));
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          Add(Child(path, key), "not an accepted property; accepted: " + AcceptedNames(properties));
        } else if (additional->is_object()) {
          Check(*additional, item, Child(path, key));
        }
      }
    }
  }

  static std::string AcceptedNames(const json* properties) {
    if (properties == nullptr || properties->empty()) return "none";
    std::string out;
    for (const auto& [key, unused] : properties->items()) {
      if (!out.empty()) out += ", ";
      out += key;
    }
    return out;
  }

  size_t max_;
  std::vector<SchemaViolation> violations_;
};

}  // namespace

bool IsRfc3339DateTime(std::string_view s) {
  // date "T" hh:mm:ss [.frac] (Z | +hh:mm | -hh:mm)
  if (s.size() < 20 || !IsDate(s.substr(0, 10))) return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  int hh = 0, mm = 0, ss = 0;
  if (!Digits(s, 11, 2, &hh) || s[13] != ':' || !Digits(s, 14, 2, &mm) || s[16] != ':' ||
      !Digits(s, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return false;
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  int oh = 0, om = 0;
  return pos + 6 == s.size() && Digits(s, pos + 1, 2, &oh) && s[pos + 3] == ':' &&
         Digits(s, pos + 4, 2, &om) && oh <= 23 && om <= 59;
}

std::vector<SchemaViolation> FindSchemaViolations(const nlohmann::json& schema,
                                                  const nlohmann::json& value,
                                                  std::string_view root, size_t max_violations) {
  Validator validator(max_violations == 0 ? 1 : max_violations);
  validator.Check(schema, value, std::string(root));
  return validator.Take();
}

Status ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value,
                             std::string_view root) {
  auto violations = FindSchemaViolations(schema, value, root);
  if (violations.empty()) return Status::Ok();
  std::string message;
  for (const auto& v : violations) {
    if (!message.empty()) message += "; ";
    message += v.path + ": " + v.message;
  }
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace steward::tools
