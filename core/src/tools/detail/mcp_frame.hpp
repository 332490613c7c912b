#pragma once
// The wire side of Steward's MCP client: splitting a stdio byte stream into lines and telling a
// JSON-RPC message apart from garbage. Pure functions over their inputs, so every malformed frame
// a server can send is a unit test.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace steward::tools::detail {

// The largest message accepted from a server (one stdio line, one HTTP body, one SSE event).
inline constexpr size_t kMaxMcpFrameBytes = 16 * 1024 * 1024;

enum class FrameKind {
  kRequest,        // id + method: the server asks the client something
  kNotification,   // method, no id
  kResult,         // id + result
  kError,          // id + error {code, message, data?}
};

// One well-formed JSON-RPC 2.0 message.
struct Frame {
  FrameKind kind = FrameKind::kNotification;
  nlohmann::json id;                                // string or integer; null for notifications
  std::string method;                               // requests and notifications
  nlohmann::json params = nlohmann::json::object(); // requests and notifications
  nlohmann::json result;                            // kResult
  int error_code = 0;                               // kError
  std::string error_message;                        // kError
  nlohmann::json error_data;                        // kError; null when absent
};

// One message of a parsed text: a frame, or what was wrong with it. `id` names the request a
// broken response answers when that can still be told (so that call fails at once instead of
// waiting for its timeout); null otherwise.
struct ParsedFrame {
  std::optional<Frame> frame;
  std::string problem;  // non-empty exactly when frame is empty
  nlohmann::json id;
};

// Parses one JSON text (a stdio line, an HTTP body, an SSE event's data): a single message or a
// batch array. Never throws; every problem is an entry with `problem` set.
[[nodiscard]] std::vector<ParsedFrame> ParseFrames(std::string_view text);

// The id a response too broken (or too large) to parse probably answers, read from the start of
// the text (`{"jsonrpc":"2.0","id":7,...`, as the Python SDK writes) or its end (`..."id":7}`, as
// the TypeScript SDK writes). Null when neither looks like a top-level id.
[[nodiscard]] nlohmann::json PeekResponseId(std::string_view head, std::string_view tail);

// Splits a byte stream into lines ("\n" or "\r\n"), skipping blank ones. A line longer than
// max_line is not kept: it is reported with its size and first and last bytes, and the stream
// stays in sync at the next newline. Not thread-safe: one per stream.
class LineSplitter final {
 public:
  struct Line {
    std::string text;        // the whole line; empty when oversized
    bool oversized = false;
    size_t size = 0;         // bytes in the line
    std::string head, tail;  // oversized only: up to kKeep bytes from each end
  };
  static constexpr size_t kKeep = 256;

  explicit LineSplitter(size_t max_line = kMaxMcpFrameBytes) : max_line_(max_line) {}

  // Appends every line completed by `bytes` to `out`.
  void Feed(std::string_view bytes, std::vector<Line>& out);

  // Bytes of an unterminated last line (what a server that died mid-line left).
  [[nodiscard]] size_t pending() const { return oversized_ ? size_ : current_.size(); }

 private:
  void Finish(std::vector<Line>& out);

  const size_t max_line_;
  std::string current_;
  bool oversized_ = false;
  size_t size_ = 0;  // while oversized: bytes seen so far
  std::string head_, tail_;
};

}  // namespace steward::tools::detail
