#include "tools/detail/mcp_frame.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <stdexcept>

namespace steward::tools::detail {

namespace {

using nlohmann::json;

// Server output is dumped into events and logs later (recursively): refuse absurd nesting first.
constexpr int kMaxNestingDepth = 256;
constexpr size_t kShownBytes = 80;

struct TooDeep : std::runtime_error {
  TooDeep() : std::runtime_error("nesting too deep") {}
};

bool IsValidId(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

std::string TypeName(const json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_null()) return "null";
  if (j.is_array()) return "an array";
  return "an object";
}

// The start of `text` on one line, for messages about it.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kShownBytes)) {
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  if (text.size() > kShownBytes) out += "…";
  return out;
}

ParsedFrame Problem(std::string message, json id = nullptr) {
  ParsedFrame p;
  p.problem = std::move(message);
  p.id = std::move(id);
  return p;
}

ParsedFrame ParseOne(const json& message) {
  if (!message.is_object()) {
    return Problem("a JSON-RPC message must be an object, got " + TypeName(message));
  }
  const auto id_it = message.find("id");
  const bool has_id = id_it != message.end() && !id_it->is_null();
  const json id = has_id && IsValidId(*id_it) ? *id_it : json(nullptr);
  const auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") {
    return Problem(std::string("\"jsonrpc\" must be \"2.0\", got ") +
                       (version == message.end() ? std::string("nothing") : version->dump()),
                   id);
  }
  if (has_id && !IsValidId(*id_it)) {
    return Problem("\"id\" must be a string or an integer, got " + TypeName(*id_it));
  }

  Frame frame;
  frame.id = id;
  if (auto method = message.find("method"); method != message.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
      return Problem("\"method\" must be a non-empty string", id);
    }
    frame.method = method->get<std::string>();
    frame.kind = has_id ? FrameKind::kRequest : FrameKind::kNotification;
    if (auto params = message.find("params"); params != message.end() && !params->is_null()) {
      if (!params->is_object()) {
        return Problem("\"params\" of " + frame.method + " must be an object, got " +
                           TypeName(*params),
                       id);
      }
      frame.params = *params;
    }
    return ParsedFrame{std::move(frame), {}, id};
  }

  const auto result = message.find("result");
  const auto error = message.find("error");
  const bool has_result = result != message.end();
  const bool has_error = error != message.end();
  if (has_result == has_error) {
    return Problem(has_result ? "a response must not carry both \"result\" and \"error\""
                              : "a message needs \"method\" (request, notification) or "
                                "\"result\"/\"error\" (response)",
                   id);
  }
  if (has_result) {
    if (!has_id) return Problem("a result must carry the \"id\" of the request it answers");
    frame.kind = FrameKind::kResult;
    frame.result = *result;
    return ParsedFrame{std::move(frame), {}, id};
  }
  // An error without an id is the server's answer to a request it could not even read.
  if (!error->is_object()) {
    return Problem("\"error\" must be an object {code, message}, got " + TypeName(*error), id);
  }
  const auto code = error->find("code");
  const auto text = error->find("message");
  if (code == error->end() || !code->is_number_integer() || text == error->end() ||
      !text->is_string()) {
    return Problem("\"error\" must have an integer \"code\" and a string \"message\", got " +
                       Shown(error->dump()),
                   id);
  }
  frame.kind = FrameKind::kError;
  frame.error_code = code->get<int>();
  frame.error_message = text->get<std::string>();
  if (auto data = error->find("data"); data != error->end()) frame.error_data = *data;
  return ParsedFrame{std::move(frame), {}, id};
}

json IdFromMatch(const std::string& text) {
  if (!text.empty() && text.front() == '"') return text.substr(1, text.size() - 2);
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return nullptr;
  }
}

}  // namespace

std::vector<ParsedFrame> ParseFrames(std::string_view text) {
  std::vector<ParsedFrame> out;
  json body;
  try {
    body = json::parse(text, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxNestingDepth) throw TooDeep();
      return true;
    });
  } catch (const TooDeep&) {
    out.push_back(Problem("JSON nested deeper than " + std::to_string(kMaxNestingDepth) +
                              " levels",
                          PeekResponseId(text.substr(0, LineSplitter::kKeep),
                                         text.substr(text.size() - std::min(text.size(), LineSplitter::kKeep)))));
    return out;
  } catch (const json::exception& e) {
    // nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string why = e.what();
    if (auto at = why.find("] "); at != std::string::npos) why = why.substr(at + 2);
    const std::string_view tail = text.substr(text.size() - std::min(text.size(), LineSplitter::kKeep));
    out.push_back(Problem("not valid JSON (" + why + "): " + Shown(text),
                          PeekResponseId(text.substr(0, LineSplitter::kKeep), tail)));
    return out;
  }
  if (body.is_array()) {
    if (body.empty()) {
      out.push_back(Problem("an empty JSON-RPC batch"));
      return out;
    }
    for (const auto& message : body) out.push_back(ParseOne(message));
    return out;
  }
  out.push_back(ParseOne(body));
  return out;
}

json PeekResponseId(std::string_view head, std::string_view tail) {
  // Only where the position makes it the top-level id: first key after "jsonrpc" (or first key)
  // at the very start, or the last key right before the closing brace at the very end.
  static const std::regex kHead(
      R"(^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?[0-9]{1,18}|"[^"\\]{0,128}")\s*[,}])");
  static const std::regex kTail(
      R"([,{]\s*"id"\s*:\s*(-?[0-9]{1,18}|"[^"\\]{0,128}")\s*\}\s*$)");
  std::smatch match;
  const std::string h(head);
  if (std::regex_search(h, match, kHead)) return IdFromMatch(match[1].str());
  const std::string t(tail);
  if (std::regex_search(t, match, kTail)) return IdFromMatch(match[1].str());
  return nullptr;
}

void LineSplitter::Feed(std::string_view bytes, std::vector<Line>& out) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (oversized_) {
      size_ += piece.size();
      if (piece.size() >= kKeep) {
        tail_.assign(piece.substr(piece.size() - kKeep));
      } else {
        tail_.append(piece);
        if (tail_.size() > kKeep) tail_.erase(0, tail_.size() - kKeep);
      }
    } else if (current_.size() + piece.size() > max_line_) {
      // From here on only the ends are kept: the line is reported, never buffered whole.
      oversized_ = true;
      size_ = current_.size() + piece.size();
      head_ = current_.substr(0, kKeep);
      if (head_.size() < kKeep) head_.append(piece.substr(0, kKeep - head_.size()));
      if (piece.size() >= kKeep) {
        tail_.assign(piece.substr(piece.size() - kKeep));
      } else {
        const size_t from_buffer = std::min(current_.size(), kKeep - piece.size());
        tail_ = current_.substr(current_.size() - from_buffer);
        tail_.append(piece);
      }
      current_.clear();
      current_.shrink_to_fit();
    } else {
      current_.append(piece);
    }
    if (nl == std::string_view::npos) return;
    Finish(out);
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::Finish(std::vector<Line>& out) {
  if (oversized_) {
    Line line;
    line.oversized = true;
    line.size = size_;
    line.head = std::move(head_);
    line.tail = std::move(tail_);
    if (!line.tail.empty() && line.tail.back() == '\r') line.tail.pop_back();
    out.push_back(std::move(line));
    oversized_ = false;
    size_ = 0;
    head_.clear();
    tail_.clear();
    return;
  }
  if (!current_.empty() && current_.back() == '\r') current_.pop_back();
  const bool blank = current_.find_first_not_of(" \t") == std::string::npos;
  if (!blank) {
    Line line;
    line.size = current_.size();
    line.text = std::move(current_);
    out.push_back(std::move(line));
  }
  current_.clear();
}

}  // namespace steward::tools::detail
