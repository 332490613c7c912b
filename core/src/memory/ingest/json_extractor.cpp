// JSON: one "key.path[0].leaf: value" line per scalar, so every value is searchable next to the
// name that says what it is.

#include <string>

#include "memory/ingest/detail/decoded.hpp"
#include "memory/ingest/extractors.hpp"
#include "memory/ingest/text_decode.hpp"

namespace steward::memory::ingest {

namespace {

using nlohmann::json;

// Nesting beyond this is flattened as its JSON text (and keeps the recursion bounded).
constexpr int kMaxDepth = 64;

class Flattener final {
 public:
  explicit Flattener(size_t budget) : budget_(budget) {}

  void Walk(const json& value, const std::string& path, int depth) {
    if (truncated_) return;
    if (out_.size() > budget_) {
      truncated_ = true;
      return;
    }
    if (value.is_object() && depth < kMaxDepth) {
      if (value.empty()) Line(path, "{}");
      for (const auto& [key, child] : value.items()) Walk(child, path.empty() ? key : path + "." + key, depth + 1);
    } else if (value.is_array() && depth < kMaxDepth) {
      if (value.empty()) Line(path, "[]");
      for (size_t i = 0; i < value.size(); ++i) Walk(value[i], path + "[" + std::to_string(i) + "]", depth + 1);
    } else if (value.is_string()) {
      Line(path, value.get<std::string>());
    } else {
      Line(path, value.dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }

  std::string& out() { return out_; }
  [[nodiscard]] bool truncated() const { return truncated_; }

 private:
  void Line(const std::string& path, const std::string& value) {
    out_ += path.empty() ? value : path + ": " + value;
    out_ += '\n';
  }

  size_t budget_;
  std::string out_;
  bool truncated_ = false;
};

std::string StringField(const json& object, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    auto it = object.find(name);
    if (it == object.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("name") && (*it)["name"].is_string()) return (*it)["name"].get<std::string>();
  }
  return {};
}

}  // namespace

Result<ExtractedDocument> ExtractJson(std::string_view bytes, const ExtractOptions& options) {
  ExtractedDocument doc;
  const std::string text = detail::DecodeInput(bytes, options, doc).text;
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: …".
    std::string what = e.what();
    const size_t at = what.find("parse error");
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid JSON: " + (at == std::string::npos ? what : what.substr(at)));
  }
  if (value.is_object()) {
    doc.title = StringField(value, {"title", "name", "subject"});
    doc.author = StringField(value, {"author", "creator", "owner"});
    doc.created = StringField(value, {"created", "created_at", "date", "published"});
    doc.modified = StringField(value, {"modified", "updated", "updated_at", "last_modified"});
  }
  Flattener flat(options.max_text_bytes + 4096);
  flat.Walk(value, "", 0);
  if (flat.truncated()) doc.extra["truncated"] = true;
  doc.text = std::move(flat.out());
  if (!doc.text.empty() && doc.text.back() == '\n') doc.text.pop_back();
  return doc;
}

}  // namespace steward::memory::ingest
