#pragma once
// The CLI's one way to ask the core for an event stream (`steward chat`, `run`, `ingest`): POST a
// JSON body with `Accept: text/event-stream` and hand each SSE event to the caller as it arrives.
// An answer that is not a stream (an error, a 202 for a detached run) comes back whole.

#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "models/detail/sse_parser.hpp"

namespace steward::app {

struct SseRequest {
  std::string base_url;   // http://127.0.0.1:8377; named in the error when the core cannot be reached
  std::string path;       // /api/chat, already escaped
  std::string token;      // sent as `Authorization: Bearer`
  std::string json_body;
};

struct SseResponse {
  long status = 0;
  bool streamed = false;  // the answer was text/event-stream: its events went to `on_event`
  std::string body;       // the whole body of an answer that was not a stream; empty if streamed
};

using SseEventHandler = std::function<void(const models::detail::SseEvent&)>;

// Blocks until the answer ends. `on_event` runs on the calling thread, in stream order, once per
// event, including a last one the server did not close with a blank line. kUnavailable
// "cannot reach Steward at {base_url}: …" when the connection fails or breaks mid-answer (a
// stream with an oversized event is cut the same way).
[[nodiscard]] Result<SseResponse> PostForEvents(const SseRequest& request, const SseEventHandler& on_event);

// The error an answer that is not a stream (or not a 200) carries: `error.message` and
// `error.context` of its JSON body; without them "HTTP {status} from {url}" ("HTTP {status}" when
// `url` is empty). The code follows the status: 400 kInvalidArgument, 401 kUnauthenticated,
// 403 kPermissionDenied, 404 kNotFound, anything else kUnavailable.
[[nodiscard]] Error ErrorFromAnswer(long status, std::string_view body, std::string_view url);

}  // namespace steward::app
