#include "models/scripted_provider.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "models/detail/http_stream.hpp"

namespace steward::models {

struct ScriptedProvider::Entry {
  std::optional<std::regex> match;
  bool after_tool = false;
  std::vector<ChatChunk> chunks;  // content chunks, then one per tool call; the last has finish_reason
  ChatResult result;              // what the chunks add up to
  bool scripted_usage = false;    // else prompt tokens are estimated per call
  std::chrono::milliseconds first_delay{0};
  std::chrono::milliseconds chunk_delay{0};
  std::optional<Error> error;
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxDelayMs = 3'600'000;

// Builds errors that name the file, the field path and the line.
class Problems {
 public:
  explicit Problems(std::string source) : source_(std::move(source)) {}

  [[nodiscard]] Error At(const std::string& path, const YAML::Node& node, std::string message) const {
    std::string context = source_;
    if (!path.empty()) context += ": " + path;
    if (node.IsDefined() && node.Mark().line >= 0) context += " (line " + std::to_string(node.Mark().line + 1) + ")";
    return MakeError(ErrorCode::kConfig, std::move(message), std::move(context));
  }

 private:
  std::string source_;
};

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "an undefined value";
  }
}

// Plain scalars become booleans, null and numbers as YAML 1.2 reads them; quoted ones stay strings.
Json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
      int64_t i = 0;
      if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i); ec == std::errc() && p == s.data() + s.size()) {
        return i;
      }
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

Result<std::string> ReadString(const Problems& p, const std::string& path, const YAML::Node& node) {
  if (!node.IsScalar()) return p.At(path, node, "expected a string, got " + Describe(node));
  return node.Scalar();
}

Result<int64_t> ReadInt(const Problems& p, const std::string& path, const YAML::Node& node,
                        int64_t min, int64_t max, std::string_view what) {
  int64_t v = 0;
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && v >= min && v <= max) return v;
  }
  return p.At(path, node, "expected " + std::string(what) + " from " + std::to_string(min) + " to " +
                              std::to_string(max) + ", got " + Describe(node));
}

Status CheckKeys(const Problems& p, const std::string& path, const YAML::Node& map,
                 const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (allowed.contains(key)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return p.At(path + (path.empty() ? "" : ".") + key, kv.first, "unknown field; expected one of: " + list);
  }
  return Status::Ok();
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Splits content into one chunk per word, each word carrying the whitespace before it
// ("It is sunny." -> "It", " is", " sunny."), so the chunks concatenate to the content.
std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 1; i < text.size(); ++i) {
    const bool word_ends = IsSpace(text[i]) && !IsSpace(text[i - 1]);
    if (word_ends && text.find_first_not_of(" \n\t\r", i) != std::string::npos) {
      out.push_back(text.substr(start, i - start));
      start = i;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

int64_t ApproxTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

Result<ScriptedProvider::Entry> ParseEntry(const Problems& p, size_t index, const YAML::Node& node) {
  const std::string path = "responses[" + std::to_string(index) + "]";
  if (!node.IsMap()) return p.At(path, node, "expected a map with content, chunks, tool_calls or error, got " + Describe(node));
  STEWARD_RETURN_IF_ERROR(CheckKeys(p, path, node,
                                    {"match", "when", "content", "chunks", "first_delay_ms",
                                     "chunk_delay_ms", "tool_calls", "usage", "error"}));
  ScriptedProvider::Entry e;
  if (const auto n = node["match"]) {
    auto s = ReadString(p, path + ".match", n);
    if (!s.ok()) return s.error();
    try {
      e.match.emplace(*s, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& err) {
      return p.At(path + ".match", n, "invalid regular expression \"" + *s + "\": " + err.what());
    }
  }
  if (const auto n = node["when"]) {
    if (!n.IsScalar() || n.Scalar() != "after_tool") {
      return p.At(path + ".when", n, "expected \"after_tool\", got " + Describe(n));
    }
    e.after_tool = true;
  }
  std::vector<std::string> pieces;
  const auto content = node["content"];
  const auto chunks = node["chunks"];
  if (content && chunks) return p.At(path + ".chunks", chunks, "give either content or chunks, not both");
  if (content) {
    auto s = ReadString(p, path + ".content", content);
    if (!s.ok()) return s.error();
    pieces = SplitWords(*s);
  }
  if (chunks) {
    if (!chunks.IsSequence() || chunks.size() == 0) {
      return p.At(path + ".chunks", chunks, "expected a non-empty list of strings, got " + Describe(chunks));
    }
    for (size_t k = 0; k < chunks.size(); ++k) {
      auto s = ReadString(p, path + ".chunks[" + std::to_string(k) + "]", chunks[k]);
      if (!s.ok()) return s.error();
      pieces.push_back(std::move(*s));
    }
  }
  for (auto [key, target] : {std::pair{"first_delay_ms", &e.first_delay}, std::pair{"chunk_delay_ms", &e.chunk_delay}}) {
    if (const auto n = node[key]) {
      auto v = ReadInt(p, path + "." + key, n, 0, kMaxDelayMs, "a whole number of milliseconds");
      if (!v.ok()) return v.error();
      *target = std::chrono::milliseconds(*v);
    }
  }
  for (auto& piece : pieces) {
    ChatChunk c;
    c.content = std::move(piece);
    e.result.content += c.content;
    e.chunks.push_back(std::move(c));
  }
  if (const auto calls = node["tool_calls"]) {
    if (!calls.IsSequence() || calls.size() == 0) {
      return p.At(path + ".tool_calls", calls, "expected a non-empty list of {name, arguments}, got " + Describe(calls));
    }
    for (size_t k = 0; k < calls.size(); ++k) {
      const std::string cpath = path + ".tool_calls[" + std::to_string(k) + "]";
      const YAML::Node& call = calls[k];
      if (!call.IsMap()) return p.At(cpath, call, "expected a map {name, arguments, id}, got " + Describe(call));
      STEWARD_RETURN_IF_ERROR(CheckKeys(p, cpath, call, {"name", "arguments", "id"}));
      if (!call["name"]) return p.At(cpath + ".name", call, "missing; expected the tool's name");
      auto name = ReadString(p, cpath + ".name", call["name"]);
      if (!name.ok()) return name.error();
      std::string arguments = "{}";
      if (const auto a = call["arguments"]) {
        if (a.IsMap()) {
          arguments = ToJson(a).dump();
        } else if (a.IsScalar()) {
          arguments = a.Scalar();  // verbatim, so scripts can send malformed arguments on purpose
        } else {
          return p.At(cpath + ".arguments", a, "expected a map (sent as JSON) or a string, got " + Describe(a));
        }
      }
      std::string id = "call_" + std::to_string(index) + "_" + std::to_string(k);
      if (const auto n = call["id"]) {
        auto s = ReadString(p, cpath + ".id", n);
        if (!s.ok()) return s.error();
        id = std::move(*s);
      }
      ChatChunk c;
      c.tool_calls.push_back({{"index", k}, {"id", id}, {"type", "function"},
                              {"function", {{"name", *name}, {"arguments", arguments}}}});
      e.result.tool_calls.push_back({{"id", id}, {"type", "function"},
                                     {"function", {{"name", *name}, {"arguments", arguments}}}});
      e.chunks.push_back(std::move(c));
    }
  }
  if (const auto u = node["usage"]) {
    if (!u.IsMap()) return p.At(path + ".usage", u, "expected {prompt_tokens, completion_tokens}, got " + Describe(u));
    STEWARD_RETURN_IF_ERROR(CheckKeys(p, path + ".usage", u, {"prompt_tokens", "completion_tokens"}));
    for (auto [key, target] : {std::pair{"prompt_tokens", &e.result.usage.prompt_tokens},
                               std::pair{"completion_tokens", &e.result.usage.completion_tokens}}) {
      if (const auto n = u[key]) {
        auto v = ReadInt(p, path + ".usage." + key, n, 0, INT64_MAX / 2, "a whole number");
        if (!v.ok()) return v.error();
        *target = *v;
      }
    }
    e.scripted_usage = true;
  }
  if (const auto err = node["error"]) {
    if (!err.IsMap()) return p.At(path + ".error", err, "expected {status, message}, got " + Describe(err));
    STEWARD_RETURN_IF_ERROR(CheckKeys(p, path + ".error", err, {"status", "message"}));
    int64_t status = 500;
    if (const auto n = err["status"]) {
      auto v = ReadInt(p, path + ".error.status", n, 100, 599, "an HTTP status");
      if (!v.ok()) return v.error();
      status = *v;
    }
    if (!err["message"]) return p.At(path + ".error.message", err, "missing; expected the error text");
    auto message = ReadString(p, path + ".error.message", err["message"]);
    if (!message.ok()) return message.error();
    // Mapped as the HTTP providers map a real upstream status, so failures replay faithfully.
    e.error = MakeError(detail::ErrorCodeForHttpStatus(static_cast<long>(status)),
                        "HTTP " + std::to_string(status) + ": " + *message);
  }
  if (e.chunks.empty() && !e.error) {
    return p.At(path, node, "an entry needs content, chunks, tool_calls or error");
  }
  if (!e.chunks.empty() && !e.error) {
    e.result.finish_reason = e.result.tool_calls.empty() ? "stop" : "tool_calls";
    e.chunks.back().finish_reason = e.result.finish_reason;
  }
  if (!e.scripted_usage) {
    size_t bytes = e.result.content.size();
    for (const auto& call : e.result.tool_calls) {
      bytes += call["function"]["name"].get_ref<const std::string&>().size() +
               call["function"]["arguments"].get_ref<const std::string&>().size();
    }
    e.result.usage.completion_tokens = ApproxTokens(bytes);
  }
  return e;
}

const std::string* StringAt(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// Bytes of the messages' text, without copying it.
size_t ContentBytes(const Json& content) {
  if (content.is_string()) return content.get_ref<const std::string&>().size();
  size_t bytes = 0;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (const auto* t = StringAt(part, "text")) bytes += t->size();
    }
  }
  return bytes;
}

}  // namespace

ScriptedProvider::ScriptedProvider(ProviderConfig config, std::string source, std::vector<Entry> entries)
    : config_(std::move(config)), source_(std::move(source)), entries_(std::move(entries)) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    (entries_[i].match || entries_[i].after_tool ? conditional_ : defaults_).push_back(i);
  }
}

ScriptedProvider::~ScriptedProvider() = default;

size_t ScriptedProvider::size() const { return entries_.size(); }

Result<std::unique_ptr<ScriptedProvider>> ScriptedProvider::Load(const ProviderConfig& config) {
  if (config.script.empty()) {
    return MakeError(ErrorCode::kConfig, "a scripted provider needs `script:`, the path of its YAML script",
                     "providers." + config.name + ".script");
  }
  std::ifstream in(config.script, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kConfig, "cannot read the script file (missing or unreadable); expected a YAML script",
                     config.script);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(config, text.str(), config.script);
}

Result<std::unique_ptr<ScriptedProvider>> ScriptedProvider::Parse(const ProviderConfig& config,
                                                                  const std::string& yaml_text,
                                                                  const std::string& source_name) {
  const Problems p(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kConfig, "not valid YAML: " + e.msg,
                     source_name + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  try {
    if (!root.IsMap()) return p.At("", root, "expected a map with `responses:`, got " + Describe(root));
    STEWARD_RETURN_IF_ERROR(CheckKeys(p, "", root, {"responses"}));
    const YAML::Node responses = root["responses"];
    if (!responses || !responses.IsSequence() || responses.size() == 0) {
      return p.At("responses", responses ? responses : root, "expected a non-empty list of responses");
    }
    std::vector<Entry> entries;
    entries.reserve(responses.size());
    for (size_t i = 0; i < responses.size(); ++i) {
      auto entry = ParseEntry(p, i, responses[i]);
      if (!entry.ok()) return entry.error();
      entries.push_back(std::move(entry).value());
    }
    return std::unique_ptr<ScriptedProvider>(new ScriptedProvider(config, source_name, std::move(entries)));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kConfig, "unexpected YAML structure: " + e.msg,
                     source_name + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
}

Result<ChatResult> ScriptedProvider::Complete(const ChatRequest& request, const ChunkSink& sink) {
  const Clock::time_point start = Clock::now();
  const Json& messages = request.messages;
  const Json* last = messages.is_array() && !messages.empty() ? &messages.back() : nullptr;
  const std::string* last_role = last ? StringAt(*last, "role") : nullptr;
  const bool after_tool = last_role && *last_role == "tool";
  const bool after_user = last_role && *last_role == "user";

  // The last user message's text; a copy only when its content is an array of parts.
  const Json* user_content = nullptr;
  if (messages.is_array()) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      const std::string* role = StringAt(*it, "role");
      if (role && *role == "user") {
        const auto c = it->find("content");
        if (c != it->end()) user_content = &*c;
        break;
      }
    }
  }
  std::string joined;
  const std::string* user_text = &joined;
  if (user_content && user_content->is_string()) {
    user_text = &user_content->get_ref<const std::string&>();
  } else if (user_content && user_content->is_array()) {
    for (const auto& part : *user_content) {
      if (const auto* t = StringAt(part, "text")) joined += *t;
    }
  }

  const Entry* chosen = nullptr;
  for (size_t i : conditional_) {
    const Entry& e = entries_[i];
    if (e.after_tool ? !after_tool : !after_user) continue;
    if (e.match && !std::regex_search(*user_text, *e.match)) continue;
    chosen = &e;
    break;
  }
  if (!chosen && !defaults_.empty()) {
    chosen = &entries_[defaults_[cursor_.fetch_add(1, std::memory_order_relaxed) % defaults_.size()]];
  }
  const std::string context = "provider " + config_.name + " (script " + source_ + ")";
  if (!chosen) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no response in the script matches this request (last message from " +
                         (last_role ? *last_role : std::string("nobody")) + ": \"" + user_text->substr(0, 80) +
                         "\"); add an entry without match/when as a default",
                     context);
  }

  const Clock::time_point deadline = start + config_.timeout;
  // Sleeps `delay` unless that passes the deadline; then sleeps to it and reports false.
  auto wait = [&](std::chrono::milliseconds delay) {
    if (delay.count() == 0) return true;
    if (Clock::now() + delay > deadline) {
      std::this_thread::sleep_until(deadline);
      return false;
    }
    std::this_thread::sleep_for(delay);
    return true;
  };
  auto timed_out = [&] {
    return MakeError(ErrorCode::kDeadlineExceeded,
                     "the scripted delays exceed the provider timeout of " + std::to_string(config_.timeout.count()) + " ms",
                     context);
  };

  for (size_t k = 0; k < chosen->chunks.size(); ++k) {
    if (!wait(k == 0 ? chosen->first_delay : chosen->chunk_delay)) return timed_out();
    if (sink && !sink(chosen->chunks[k])) {
      return MakeError(ErrorCode::kCancelled, "the client stopped reading the stream", context);
    }
  }
  if (chosen->error) {
    if (chosen->chunks.empty() && !wait(chosen->first_delay)) return timed_out();
    Error error = *chosen->error;
    error.context = context;
    return error;
  }
  ChatResult result = chosen->result;
  if (!chosen->scripted_usage) {
    size_t bytes = 0;
    if (messages.is_array()) {
      for (const auto& m : messages) {
        const auto c = m.find("content");
        if (c != m.end()) bytes += ContentBytes(*c);
      }
    }
    result.usage.prompt_tokens = ApproxTokens(bytes);
  }
  return result;
}

}  // namespace steward::models
