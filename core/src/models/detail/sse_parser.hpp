#pragma once
// An incremental parser for Server-Sent Events (the WHATWG "event stream" format), fed with
// whatever byte ranges the network delivers: events may be split anywhere, lines may end in
// "\r\n", "\n" or "\r", ":" lines are comments, and several "data:" lines join with "\n".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::models::detail {

// One dispatched event. `event` is empty when the stream gave no "event:" field (the spec's
// default type "message"); `data` has its final newline removed.
struct SseEvent {
  std::string event;
  std::string data;
  std::string id;

  bool operator==(const SseEvent&) const = default;
};

// Not thread-safe: one parser per stream.
class SseParser final {
 public:
  // Upper bound on a single line or event; a stream exceeding it is malformed (or hostile).
  static constexpr size_t kMaxEventBytes = 16 * 1024 * 1024;

  // Parses `bytes` and appends every event completed by them to `out`. Returns false (and
  // ignores further input) once a line or event exceeds kMaxEventBytes.
  [[nodiscard]] bool Feed(std::string_view bytes, std::vector<SseEvent>& out);

  // Called at end of stream. The spec discards an event not terminated by a blank line; some
  // servers end the body right after the last "data:" line, so this returns that event instead.
  [[nodiscard]] std::optional<SseEvent> Finish();

  [[nodiscard]] bool overflowed() const { return overflowed_; }

 private:
  void ProcessLine(std::string_view line, std::vector<SseEvent>& out);

  std::string line_;          // the current, not yet terminated line
  bool skip_lf_ = false;      // the previous byte was '\r': a following '\n' ends nothing
  bool at_start_ = true;      // a UTF-8 BOM may open the stream
  bool has_data_ = false;     // a "data" field was seen for the pending event
  bool overflowed_ = false;
  SseEvent pending_;
  std::string last_id_;  // the spec keeps the last event id across events
};

}  // namespace steward::models::detail
