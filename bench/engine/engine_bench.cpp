// engine_bench: what the durable workflow engine adds per step. Issue #5 asks for the per-step
// overhead of no-op steps, including the PostgreSQL commit, at p50/p99 (target <= 1 ms p50), and
// durable steps/s on this machine.
//
// The engine under test is the real one (WorkflowEngine, StepStore, StepExecutor) on a real
// PostgreSQL in a scratch database, with every step a tool step through the real ToolRegistry
// (schema check, events) calling an in-process no-op tool (~0.1 µs). What a step costs here is
// therefore the engine's own work: the tool call, rendering the next step's input, one statement
// that records the result and starts the next step's attempt (one commit, flushed:
// synchronous_commit as the server has it), the run's events.
//
//   per-step      one run of N no-op steps at a time; the time between consecutive step
//                 completions as seen by a consumer of the run's event stream; p50/p99/max;
//                 with the round trips to PostgreSQL per step (send() calls of this process: only
//                 libpq uses sockets here) and, with --commits, the transactions committed per
//                 step (pg_stat_database; adds ~22 s of waiting for the server's statistics)
//   steps/s       R runs of N steps started together (the engine drives each on its own thread);
//                 total steps / wall time
//
// Usage: engine_bench [--pg=URL] [--steps=N] [--runs=R] [--concurrent=C] [--commits]
// The server URL defaults to $STEWARD_BENCH_PG, then $STEWARD_TEST_PG, then the local one.

#include <dlfcn.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "engine/run_registry.hpp"
#include "engine/workflow_engine.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "tools/tool_registry.hpp"

#ifndef STEWARD_BENCH_BUILD_TYPE
#define STEWARD_BENCH_BUILD_TYPE "unknown"
#endif

namespace steward::bench {
// libpq's writes to the server: one per round trip (a pipelined batch is one).
std::atomic<int64_t> g_sends{0};
}  // namespace steward::bench

extern "C" ssize_t send(int fd, const void* buf, size_t len, int flags) {
  using Fn = ssize_t (*)(int, const void*, size_t, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "send"));
  steward::bench::g_sends.fetch_add(1, std::memory_order_relaxed);
  return real(fd, buf, len, flags);
}

namespace steward::bench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class NoopTools final : public tools::ToolProvider {
 public:
  std::string_view server() const override { return "bench"; }
  std::vector<tools::ToolInfo> ListTools() const override {
    return {{"bench.noop", "bench", "does nothing", {{"type", "object"}}, "low", ""}};
  }
  Result<tools::ToolCallResult> Call(std::string_view, const json& args, const tools::CallContext&) override {
    return tools::ToolCallResult::Text("ok", {{"n", args.value("n", 0)}});
  }
};

std::string Arg(int argc, char** argv, const char* name, std::string fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t q = url.find('?');
  const std::string base = url.substr(0, q);
  const std::string query = q == std::string::npos ? "" : url.substr(q);
  return base.substr(0, base.rfind('/')) + "/" + db + query;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

// Transactions committed in `db` so far. A backend that goes idle within a second of its last
// report publishes its counts 10 s later, hence the wait.
int64_t Commits(const std::string& admin, const std::string& db) {
  std::this_thread::sleep_for(std::chrono::milliseconds(11000));
  try {
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    return tx.exec_params1("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", db)[0].as<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

engine::WorkflowDefinition NoopWorkflow(int steps) {
  engine::WorkflowDefinition def;
  def.name = "noop";
  for (int i = 0; i < steps; ++i) {
    engine::StepDefinition s;
    s.id = "s" + std::to_string(i);
    s.kind = engine::StepKind::kTool;
    s.tool = "bench.noop";
    s.input = {{"n", i}};
    def.steps.push_back(std::move(s));
  }
  return def;
}

int Main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const char* env_pg = std::getenv("STEWARD_BENCH_PG");
  if (env_pg == nullptr) env_pg = std::getenv("STEWARD_TEST_PG");
  const std::string admin = Arg(argc, argv, "pg", env_pg ? env_pg : "postgresql://postgres@127.0.0.1:5432/postgres");
  const int steps = std::stoi(Arg(argc, argv, "steps", "50"));
  const int runs = std::stoi(Arg(argc, argv, "runs", "20"));
  const int concurrent = std::stoi(Arg(argc, argv, "concurrent", "8"));
  bool count_commits = false;
  for (int i = 1; i < argc; ++i) count_commits = count_commits || std::strcmp(argv[i], "--commits") == 0;

  const std::string db_name = "steward_bench_engine_" + engine::RandomHex(4);
  std::string sync_commit;
  try {
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec0("CREATE DATABASE " + db_name);
    sync_commit = tx.exec1("SHOW synchronous_commit")[0].as<std::string>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_bench: cannot create a scratch database on %s: %s\n", admin.c_str(), e.what());
    return 1;
  }
  int status = 0;
  // Pass 1 as the server is configured; pass 2 with synchronous_commit=off for this database, which
  // separates the engine's own cost from the WAL flush of each result's commit.
  for (const bool flush : {true, false}) {
    if (!flush) {
      try {
        pqxx::connection c(admin);
        pqxx::nontransaction tx(c);
        tx.exec0("ALTER DATABASE " + db_name + " SET synchronous_commit = off");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "engine_bench: %s\n", e.what());
        break;
      }
      std::printf("\n  --- again with synchronous_commit=off (no WAL flush per result: the engine's own cost) ---\n");
    }
    auto db = store::Database::Connect(WithDatabase(admin, db_name), 8);
    if (!db.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", db.error().ToString().c_str());
      return 1;
    }
    if (Status s = flush ? store::ApplyMigrations(**db) : Status::Ok(); !s.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", s.error().ToString().c_str());
      return 1;
    }
    tools::ToolRegistry registry;
    (void)registry.Register(std::make_shared<NoopTools>());
    engine::RunRegistry live_runs;
    engine::WorkflowEngineOptions options;
    options.workflows["noop"] = NoopWorkflow(steps);
    options.adopt_interval = std::chrono::hours(1);
    engine::WorkflowEngine engine(**db, live_runs, nullptr, &registry, nullptr, options);

    if (flush) std::printf("engine_bench (%s build, %u hardware threads, PostgreSQL synchronous_commit=%s)\n",
                STEWARD_BENCH_BUILD_TYPE, std::thread::hardware_concurrency(), sync_commit.c_str());
    if (flush) std::printf("  workflow: %d no-op tool steps; a step = registry call + render the next step's input + "
                "one statement recording the result and starting the next attempt (durable commit) + events\n\n",
                steps);

    // Per-step overhead: one run at a time, step completions timed off the event stream.
    std::vector<double> step_ms;
    std::vector<double> run_ms;
    int64_t sends_before = 0;
    int64_t commits_before = 0;
    for (int r = 0; r < runs + 2; ++r) {
      if (r == 2) {
        if (count_commits && flush) commits_before = Commits(admin, db_name);
        sends_before = g_sends.load();
      }
      engine::StartWorkflowRequest req;
      req.workflow = "noop";
      req.stream = true;
      const auto t0 = Clock::now();
      auto started = engine.StartRun(req);
      if (!started.ok()) {
        std::fprintf(stderr, "engine_bench: %s\n", started.error().ToString().c_str());
        status = 1;
        break;
      }
      auto last = t0;
      std::vector<double> this_run;
      while (true) {
        auto ev = started->live->Next(std::chrono::seconds(30));
        if (!ev) break;
        if (ev->type == "status" && ev->data.value("state", "") == "succeeded") {
          const auto now = Clock::now();
          this_run.push_back(std::chrono::duration<double, std::milli>(now - last).count());
          last = now;
        }
        if (ev->terminal()) {
          if (ev->type != "done") {
            std::fprintf(stderr, "engine_bench: run failed: %s\n", ev->data.dump().c_str());
            status = 1;
          }
          break;
        }
      }
      const double total = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (r >= 2) {  // the first runs warm connections and statement caches
        // The first interval includes the run's own start (its row); count it as run overhead.
        if (!this_run.empty()) this_run.erase(this_run.begin());
        step_ms.insert(step_ms.end(), this_run.begin(), this_run.end());
        run_ms.push_back(total);
      }
      (void)engine.Wait(started->run_id, std::chrono::seconds(30));
    }
    const double sends = static_cast<double>(g_sends.load() - sends_before);
    const int64_t commits_after = count_commits && flush ? Commits(admin, db_name) : 0;
    std::printf("  per-step overhead, one run at a time (%zu steps over %d runs):\n", step_ms.size(), runs);
    std::printf("    p50 %.3f ms   p99 %.3f ms   max %.3f ms   (target p50 <= 1 ms: %s)\n",
                Percentile(step_ms, 0.5), Percentile(step_ms, 0.99), Percentile(step_ms, 1.0),
                Percentile(step_ms, 0.5) <= 1.0 ? "met" : "NOT met");
    std::printf("    whole run of %d steps: p50 %.1f ms (start to done, incl. the run row and its end)\n", steps,
                Percentile(run_ms, 0.5));
    const double measured_steps = static_cast<double>(runs) * steps;
    std::printf("    per step, with each run's start and end spread over its steps: %.2f round trips to PostgreSQL",
                sends / measured_steps);
    if (count_commits && flush && commits_before >= 0 && commits_after >= 0) {
      std::printf(", %.2f transactions committed", static_cast<double>(commits_after - commits_before) / measured_steps);
    }
    std::printf("\n\n");

    // Throughput: `concurrent` runs at once, each on its own engine thread.
    const int batches = 3;
    const auto t0 = Clock::now();
    int total_steps = 0;
    for (int b = 0; b < batches; ++b) {
      std::vector<std::string> ids;
      for (int i = 0; i < concurrent; ++i) {
        auto id = engine.StartWorkflowRun("noop", json::object(), "bench");
        if (id.ok()) ids.push_back(*id);
      }
      for (const auto& id : ids) {
        auto done = engine.Wait(id, std::chrono::seconds(120));
        if (done.ok() && done->status == "succeeded") total_steps += steps;
      }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("  durable steps/s, %d runs at a time (%d batches): %.0f steps/s (%d steps in %.2f s)\n", concurrent,
                batches, total_steps / secs, total_steps, secs);
    engine.Stop();
  }
  try {
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec0("DROP DATABASE IF EXISTS " + db_name + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_bench: could not drop %s: %s\n", db_name.c_str(), e.what());
  }
  return status;
}

}  // namespace
}  // namespace steward::bench

int main(int argc, char** argv) { return steward::bench::Main(argc, argv); }
