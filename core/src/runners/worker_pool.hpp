#pragma once
// Supervises the Python worker processes that host agent frameworks, speaking the JSON-lines
// protocol of docs/runner-protocol.md over their stdin/stdout.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "runners/agent_config.hpp"

namespace steward::runners {

struct WorkerPoolOptions {
  std::vector<std::string> command;  // e.g. {"/work/main/.venv/bin/python", "-m", "steward_worker"}
  std::map<std::string, std::string> env;  // added to the inherited environment
  int size = 2;
  std::chrono::milliseconds start_timeout{60000};  // until `ready`
  std::chrono::milliseconds ping_interval{5000};
  std::chrono::milliseconds ping_timeout{10000};  // no pong → kill and restart
  int max_restarts_per_minute = 10;  // crash-loop guard: beyond it the slot is `failed` and backs off
};

// One run for a worker; becomes the protocol's `run` message.
struct RunRequest {
  std::string run_id;
  std::string runner;  // empty: agent.runner
  AgentConfig agent;
  nlohmann::json input;  // {message, history}
  std::string core_base_url;
  std::string token;  // per-run bearer token for /v1 and /mcp
  std::string traceparent;
  // Resource limits for the run ({cpu_seconds, memory_mb, wall_seconds}, each optional; see
  // docs/runner-protocol.md); empty: none. Sent as the run message's `limits`.
  nlohmann::json limits = nlohmann::json::object();
};

// A worker message about a run. `type` is status | token | spans | done | error; `data` is the whole
// message as the worker sent it (or as the pool made it for worker_crashed / cancelled).
struct WorkerEvent {
  std::string type;
  nlohmann::json data;
};
using WorkerEventSink = std::function<void(const WorkerEvent&)>;

// Vectors from the worker's local sentence-embedding model (the protocol's `embed` request).
struct EmbedResult {
  std::string model;  // e.g. all-MiniLM-L6-v2
  int dimension = 0;
  std::vector<std::vector<float>> vectors;  // one per text, in order
};

// One worker slot. state: starting | ready | stopping | exited | restarting (waiting to respawn)
// | failed (crash-looping, backing off) | stopped.
struct WorkerHealth {
  int pid = 0;  // 0 while no process runs in the slot
  std::string state;
  int in_flight = 0;
  int restarts = 0;  // replacements started in this slot since the pool started
  std::string last_error;
};

// A fixed number of worker slots, each running one process that serves many runs concurrently.
// All methods are thread-safe. Sinks run on pool threads (a worker's reader thread, or the
// supervisor thread for pool-made errors), one call at a time per run; a sink may call Submit
// and Cancel but must not block for long (it stalls that worker's other runs).
class WorkerPool final {
 public:
  // Spawns `size` workers and returns once all have sent `ready`, or the first start error
  // (kInvalidArgument for bad options, kUnavailable naming the command, exit status or timeout and
  // the worker's last stderr lines).
  [[nodiscard]] static Result<std::unique_ptr<WorkerPool>> Start(WorkerPoolOptions options);

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // Shutdown(), then joins every thread. Not from a sink (a pool thread cannot join itself).
  ~WorkerPool();

  // Sends the run to the least-busy ready worker. `sink` then receives the run's events in
  // order, ending with exactly one `done` or `error`. kUnavailable if no worker is ready (or the
  // pool is shutting down), kConflict if `run_id` is already running, kInvalidArgument if empty.
  [[nodiscard]] Status Submit(const RunRequest& request, WorkerEventSink sink);

  // Asks the worker to cancel the run. If it has not ended the run within 2 s, the pool ends it
  // with error(cancelled) and drops the worker's later events for it. Unknown ids: no-op.
  void Cancel(const std::string& run_id);

  // Embeds `texts` on a ready worker (the lowest-numbered one, so one process keeps the model
  // loaded) and waits for the answer. Errors: kUnavailable (no ready worker, the worker died, or
  // the model is not installed: the message says how to install it), kDeadlineExceeded (no answer
  // within `timeout`; a late answer is dropped), kInternal (a malformed answer). Thread-safe;
  // not from a sink (it blocks).
  [[nodiscard]] Result<EmbedResult> Embed(const std::vector<std::string>& texts,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // A snapshot of every slot, in slot order.
  [[nodiscard]] std::vector<WorkerHealth> Health() const;

  // Sends `shutdown`, waits up to 3 s for the workers to exit, then SIGTERM and SIGKILL; runs still
  // in flight end with error(cancelled, "shutting down"). Idempotent; later Submits fail. From a
  // sink it only starts the shutdown (the supervisor finishes it) and returns at once.
  void Shutdown();

 private:
  class Impl;
  explicit WorkerPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::runners
