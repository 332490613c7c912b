#pragma once
// The CLI's side of a chat: POST /api/chat, render the SSE stream as it arrives (tokens inline,
// progress lines as they happen, the confidence line at the end).

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::app {

struct ChatClientOptions {
  std::string base_url;  // http://127.0.0.1:8377
  std::string token;
  std::string agent;       // empty: the server's default agent
  std::string session_id;  // empty: a new session
  bool show_progress = true;  // status / tool lines on `progress`
  FILE* out = stdout;
  FILE* progress = stderr;
};

struct ChatTurnOutcome {
  std::string session_id;
  std::string run_id;
  std::string answer;
  nlohmann::json done;  // the `done` event's data; null if the run failed
};

// Sends one message and renders the stream. An `error` event becomes an Error carrying its
// message (the partial answer, if any, has already been printed).
[[nodiscard]] Result<ChatTurnOutcome> SendChat(const ChatClientOptions& options, const std::string& message);

// GET `path` with the token; the parsed JSON body, or an Error naming the server's complaint.
[[nodiscard]] Result<nlohmann::json> GetJson(const std::string& base_url, const std::string& token,
                                             const std::string& path);

// True if GET {base_url}/healthz answers 200 within `timeout_ms`.
[[nodiscard]] bool ServerIsUp(const std::string& base_url, long timeout_ms);

}  // namespace steward::app
