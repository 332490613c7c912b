#pragma once
// A chat turn as a run: persist the user's message, hand the turn to a warm worker, relay its
// events, and persist the answer with its confidence. Used by POST /api/chat, by /v1 requests
// whose model is an agent, and by the CLI (through those).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/live_run.hpp"
#include "engine/run_registry.hpp"
#include "runners/agent_config.hpp"
#include "runners/worker_pool.hpp"
#include "store/database.hpp"
#include "tools/tool_registry.hpp"

namespace steward::engine {

struct ChatTurnRequest {
  std::string message;
  std::string agent;       // empty: the default agent
  std::string session_id;  // empty: a new session
  // When set (OpenAI clients send the whole conversation each time), the history the agent
  // sees; a new session records the turn. Each item: {role: user|assistant, content}.
  std::optional<nlohmann::json> history;
  std::string source = "api";  // api | cli | openai: recorded in the session's metadata
};

struct ChatServiceOptions {
  std::map<std::string, runners::AgentConfig> agents;
  std::string default_agent;
  std::string core_base_url;  // what workers use to reach /v1 and /mcp
  tools::ToolRegistry* tools = nullptr;  // whose tools each run's snapshot records; null: none
  int history_limit = 50;     // messages of a session the agent sees
  // This process's run owner id and lease (the workflow engine's: its RunLease thread renews the
  // lease of every running run the owner has, chat runs included). A chat run left running by a
  // dead process is ended by FailInterruptedChatRuns once its lease expires. Empty: chat runs
  // are inserted without an owner.
  std::string run_owner;
  std::chrono::milliseconds run_lease{15000};
};

// Thread-safe.
class ChatService final {
 public:
  ChatService(store::Database& db, runners::WorkerPool& pool, RunRegistry& runs, ChatServiceOptions options);

  // Starts a turn. On success the returned run emits `session`, `status`…, `token`…, then exactly
  // one `done` or `error`. Errors here (unknown agent, empty message, unknown session) mean
  // nothing was stored and nothing runs.
  [[nodiscard]] Result<std::shared_ptr<LiveRun>> Start(const ChatTurnRequest& request);

  // Asks the run's worker to stop; the run then ends with `error` code `cancelled`.
  void Cancel(const std::string& run_id);

  // The server is stopping: every run that ends without an answer from now on is recorded (and
  // reported) as `cancelled`. Call before the HTTP server closes its connections.
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_release); }

  [[nodiscard]] const ChatServiceOptions& options() const { return options_; }

 private:
  void OnWorkerEvent(const std::shared_ptr<LiveRun>& run, const runners::WorkerEvent& event);
  void Finish(const std::shared_ptr<LiveRun>& run, const std::string& output, const nlohmann::json& stats);
  void Fail(const std::shared_ptr<LiveRun>& run, const std::string& reported_code,
            const std::string& reported_message);

  store::Database& db_;
  runners::WorkerPool& pool_;
  RunRegistry& runs_;
  const ChatServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace steward::engine
