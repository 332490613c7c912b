#pragma once
// A run in progress: its identity, its per-run token, the events it produces for whoever
// watches it, and the counters confidence and cost are computed from.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/tracer.hpp"

namespace steward::engine {

using Json = nlohmann::json;

// One SSE event of DESIGN.md: `type` is session|status|tool_call|tool_result|
// approval_required|approval_resolved|token|done|error; `data` always carries run_id.
struct RunEvent {
  std::string type;
  Json data;
  [[nodiscard]] bool terminal() const { return type == "done" || type == "error"; }
};

struct RunIdentity {
  std::string run_id;
  std::string session_id;
  std::string agent;
  std::string model;
  std::string trace_id;            // 32 hex chars (W3C)
  std::string root_span_id;        // the run's root span (`chat.run`): parent of calls without a traceparent
  std::string token;               // per-run bearer token for /v1 and /mcp
  std::vector<std::string> tools;  // globs of the tools the agent may use
  std::string risk_threshold = "low";  // the agent's: highest tier its tool calls run without approval
};

// Totals the run accumulates while it executes; read when it finishes.
struct RunCounters {
  std::atomic<int64_t> model_calls{0};
  std::atomic<int64_t> prompt_tokens{0};
  std::atomic<int64_t> completion_tokens{0};
  std::atomic<int64_t> cost_nano_usd{0};  // integer so it can be atomic; 1e-9 USD
  std::atomic<int64_t> tool_calls{0};
  std::atomic<int64_t> tool_errors{0};
  std::atomic<int64_t> sources{0};  // results returned by successful tool calls
  // A tool call failed and a call of another tool, started after that failure, succeeded: the
  // agent fell back (web down -> local documents). Set by the /mcp event hook.
  std::atomic<bool> used_fallback{false};
  // Microseconds from the run's start to the first progress event its agent produced (a worker
  // status or token; a tool call) and to the first token; -1 until then. For the success metric
  // "progress within 2 s" (run.stats first_progress_ms / first_token_ms).
  std::atomic<int64_t> first_progress_us{-1};
  std::atomic<int64_t> first_token_us{-1};

  // True iff a tool other than `tool` has failed in this run so far.
  bool FailedOtherThan(const std::string& tool) {
    std::lock_guard lock(failed_mu_);
    for (const auto& t : failed_tools_) {
      if (t != tool) return true;
    }
    return false;
  }
  void RecordToolFailure(const std::string& tool) {
    std::lock_guard lock(failed_mu_);
    failed_tools_.push_back(tool);
  }

 private:
  std::mutex failed_mu_;
  std::vector<std::string> failed_tools_;  // GUARDED_BY(failed_mu_)
};

// Thread-safe. Producers (worker reader thread, /v1 and /mcp handler threads) call Emit; one
// consumer (the HTTP stream of the client that started the run) calls Next.
class LiveRun final {
 public:
  explicit LiveRun(RunIdentity identity)
      : identity_(std::move(identity)), started_(std::chrono::steady_clock::now()) {}

  const RunIdentity& identity() const { return identity_; }
  const std::string& id() const { return identity_.run_id; }
  RunCounters& counters() { return counters_; }
  // Records the first progress event (and, for a token, the first token) if none came before.
  void MarkProgress(bool token);
  std::chrono::steady_clock::time_point started() const { return started_; }

  // Queues an event (adding run_id to its data). Events after the terminal one are dropped, so
  // a late worker message can never follow `done`/`error`. Returns false if dropped.
  bool Emit(std::string type, Json data);

  // Waits up to `timeout` for the next event.
  std::optional<RunEvent> Next(std::chrono::milliseconds timeout);

  [[nodiscard]] bool finished() const;

  // The run's root span: set once by the run's owner before the run is started, ended by the
  // owner when the run finishes (the owner's calls are serialised, so no lock).
  telemetry::ScopedSpan& root_span() { return root_span_; }

  // Marks that the client wants the run stopped; the owner of the run acts on it.
  void RequestCancel() { cancel_requested_ = true; }
  [[nodiscard]] bool cancel_requested() const { return cancel_requested_; }

 private:
  const RunIdentity identity_;
  const std::chrono::steady_clock::time_point started_;
  RunCounters counters_;
  telemetry::ScopedSpan root_span_;
  std::atomic<bool> cancel_requested_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RunEvent> queue_;  // GUARDED_BY(mu_)
  int waiters_ = 0;                // threads blocked in Next; GUARDED_BY(mu_)
  bool terminal_emitted_ = false;  // GUARDED_BY(mu_)
};

}  // namespace steward::engine
