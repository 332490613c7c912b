#include "runners/worker_pool.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace steward::runners {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string FakeWorkerPath() {
  return (std::filesystem::path(STEWARD_SOURCE_DIR) / "core/tests/fixtures/fake_worker.py")
      .lexically_normal()
      .string();
}

WorkerPoolOptions FakeOptions(int size, std::vector<std::string> flags = {}) {
  WorkerPoolOptions options;
  options.command = {"python3", "-u", FakeWorkerPath()};
  options.command.insert(options.command.end(), flags.begin(), flags.end());
  options.size = size;
  options.start_timeout = 5s;
  options.ping_interval = 200ms;
  options.ping_timeout = 2s;
  return options;
}

std::unique_ptr<WorkerPool> StartPool(WorkerPoolOptions options) {
  auto pool = WorkerPool::Start(std::move(options));
  EXPECT_TRUE(pool.ok()) << (pool.ok() ? "" : pool.error().ToString());
  return pool.ok() ? std::move(pool.value()) : nullptr;
}

RunRequest Request(const std::string& run_id, const std::string& message) {
  RunRequest request;
  request.run_id = run_id;
  request.agent.name = "assistant";
  request.agent.model = "assistant";
  request.input = {{"message", message}, {"history", nlohmann::json::array()}};
  request.core_base_url = "http://127.0.0.1:1";
  request.token = "token-" + run_id;
  request.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  return request;
}

bool IsTerminal(const WorkerEvent& event) { return event.type == "done" || event.type == "error"; }

// Records one run's events; shared with the sink so it outlives the pool's use of it.
class Recorder final {
 public:
  static std::shared_ptr<Recorder> Make() { return std::make_shared<Recorder>(); }
  static WorkerEventSink SinkOf(const std::shared_ptr<Recorder>& recorder) {
    return [recorder](const WorkerEvent& event) { recorder->Add(event); };
  }

  void Add(const WorkerEvent& event) {
    std::lock_guard lock(mu_);
    events_.push_back(event);
    if (IsTerminal(event)) cv_.notify_all();
  }
  // Waits for the terminal event; false on timeout.
  bool WaitEnd(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] {
      return std::any_of(events_.begin(), events_.end(), IsTerminal);
    });
  }
  std::vector<WorkerEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  // The last event, after checking it is the only terminal one.
  WorkerEvent End() const {
    auto all = events();
    EXPECT_FALSE(all.empty());
    if (all.empty()) return {};
    EXPECT_EQ(std::count_if(all.begin(), all.end(), IsTerminal), 1);
    EXPECT_TRUE(IsTerminal(all.back()));
    return all.back();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WorkerEvent> events_;
};

std::shared_ptr<Recorder> SubmitOk(WorkerPool& pool, const std::string& run_id, const std::string& message) {
  auto recorder = Recorder::Make();
  const Status submitted = pool.Submit(Request(run_id, message), Recorder::SinkOf(recorder));
  EXPECT_TRUE(submitted.ok()) << (submitted.ok() ? "" : submitted.error().ToString());
  return recorder;
}

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

bool ProcessGone(int pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(WorkerPool, StartReturnsWhenEveryWorkerIsReady) {
  auto pool = StartPool(FakeOptions(2));
  ASSERT_TRUE(pool);
  const auto health = pool->Health();
  ASSERT_EQ(health.size(), 2u);
  for (const auto& worker : health) {
    EXPECT_EQ(worker.state, "ready");
    EXPECT_GT(worker.pid, 0);
    EXPECT_EQ(worker.in_flight, 0);
    EXPECT_EQ(worker.restarts, 0);
  }
  EXPECT_NE(health[0].pid, health[1].pid);
  pool.reset();
  for (const auto& worker : health) EXPECT_TRUE(ProcessGone(worker.pid)) << worker.pid;
}

TEST(WorkerPool, RunEventsArriveInOrderEndingWithOneDone) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  auto run = SubmitOk(*pool, "run-1", "echo alpha beta gamma delta");
  ASSERT_TRUE(run->WaitEnd(5s));
  std::this_thread::sleep_for(50ms);  // nothing may follow the terminal event
  const auto events = run->events();
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].type, "status");
  std::string text;
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(events[i].type, "token");
    EXPECT_EQ(events[i].data["run_id"], "run-1");
    text += events[i].data["text"].get<std::string>();
  }
  const WorkerEvent end = run->End();
  EXPECT_EQ(end.type, "done");
  EXPECT_EQ(text, "alpha beta gamma delta");
  EXPECT_EQ(end.data["output"], text);
  EXPECT_EQ(end.data["stats"]["model_calls"], 1);
  EXPECT_EQ(pool->Health()[0].in_flight, 0);
}

TEST(WorkerPool, WorkersInheritConfiguredEnvironment) {
  auto options = FakeOptions(1);
  options.env["STEWARD_FAKE_SETTING"] = "from-options";
  auto pool = StartPool(std::move(options));
  ASSERT_TRUE(pool);
  auto run = SubmitOk(*pool, "env-run", "env STEWARD_FAKE_SETTING");
  ASSERT_TRUE(run->WaitEnd(5s));
  EXPECT_EQ(run->End().data["output"], "from-options");
}

TEST(WorkerPool, SpreadsRunsAcrossWorkersAndRunsThemConcurrently) {
  auto pool = StartPool(FakeOptions(2));
  ASSERT_TRUE(pool);
  auto sleeper_a = SubmitOk(*pool, "sleep-a", "sleep");
  auto sleeper_b = SubmitOk(*pool, "sleep-b", "sleep");
  auto health = pool->Health();
  EXPECT_EQ(health[0].in_flight, 1);  // least-busy: the second run went to the other worker
  EXPECT_EQ(health[1].in_flight, 1);

  constexpr int kThreads = 4;
  constexpr int kRunsPerThread = 10;
  std::vector<std::shared_ptr<Recorder>> runs(kThreads * kRunsPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        const int n = t * kRunsPerThread + i;
        runs[n] = SubmitOk(*pool, "echo-" + std::to_string(n), "echo run " + std::to_string(n) + " says hi");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t n = 0; n < runs.size(); ++n) {
    ASSERT_TRUE(runs[n]->WaitEnd(5s)) << n;
    const auto end = runs[n]->End();
    EXPECT_EQ(end.type, "done");
    EXPECT_EQ(end.data["output"], "run " + std::to_string(n) + " says hi");
    EXPECT_EQ(end.data["run_id"], "echo-" + std::to_string(n));
  }
  pool->Cancel("sleep-a");
  pool->Cancel("sleep-b");
  ASSERT_TRUE(sleeper_a->WaitEnd(3s));
  ASSERT_TRUE(sleeper_b->WaitEnd(3s));
}

TEST(WorkerPool, RejectsDuplicateAndEmptyRunIds) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  auto first = SubmitOk(*pool, "dup", "sleep");
  const Status again = pool->Submit(Request("dup", "echo x"), [](const WorkerEvent&) {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  const Status empty = pool->Submit(Request("", "echo x"), [](const WorkerEvent&) {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  pool->Cancel("dup");
  ASSERT_TRUE(first->WaitEnd(3s));
}

TEST(WorkerPool, CrashMidRunFailsTheRunAndAReplacementServesTheNext) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  const int old_pid = pool->Health()[0].pid;
  auto run = SubmitOk(*pool, "crash-run", "crash");
  ASSERT_TRUE(run->WaitEnd(5s));
  const WorkerEvent end = run->End();
  EXPECT_EQ(end.type, "error");
  EXPECT_EQ(end.data["code"], "worker_crashed");
  EXPECT_EQ(end.data["run_id"], "crash-run");
  EXPECT_EQ(end.data["message"], "worker " + std::to_string(old_pid) + " exited with status 3 during the run");
  EXPECT_EQ(run->events().front().type, "token");  // the partial token came first

  ASSERT_TRUE(Eventually([&] { return pool->Health()[0].state == "ready"; }, 5s));
  const auto health = pool->Health()[0];
  EXPECT_NE(health.pid, old_pid);
  EXPECT_EQ(health.restarts, 1);
  EXPECT_TRUE(Contains(health.last_error, "exited with status 3")) << health.last_error;
  auto next = SubmitOk(*pool, "after-crash", "echo still here");
  ASSERT_TRUE(next->WaitEnd(5s));
  EXPECT_EQ(next->End().data["output"], "still here");
}

TEST(WorkerPool, WorkerKilledBySignalIsNamedInTheError) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  const int pid = pool->Health()[0].pid;
  auto run = SubmitOk(*pool, "kill-run", "kill9");
  ASSERT_TRUE(run->WaitEnd(5s));
  EXPECT_EQ(run->End().data["message"],
            "worker " + std::to_string(pid) + " was killed by signal 9 (SIGKILL) during the run");
}

TEST(WorkerPool, CancelEndsTheRunWithCancelled) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  auto run = SubmitOk(*pool, "to-cancel", "sleep");
  ASSERT_TRUE(Eventually([&] { return !run->events().empty(); }, 3s));  // running
  const auto start = Clock::now();
  pool->Cancel("to-cancel");
  ASSERT_TRUE(run->WaitEnd(3s));
  EXPECT_LT(Clock::now() - start, 1500ms);
  const auto end = run->End();
  EXPECT_EQ(end.data["code"], "cancelled");
  EXPECT_EQ(end.data["message"], "cancelled by request");  // the worker's own answer
  pool->Cancel("no-such-run");  // harmless
  EXPECT_EQ(pool->Health()[0].in_flight, 0);
}

TEST(WorkerPool, CancelOfAHungRunIsEndedByThePoolAfterTwoSeconds) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  auto run = SubmitOk(*pool, "hung", "hang");
  ASSERT_TRUE(Eventually([&] { return !run->events().empty(); }, 3s));
  const auto start = Clock::now();
  pool->Cancel("hung");
  ASSERT_TRUE(run->WaitEnd(4s));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_LT(elapsed, 3000ms);
  const auto end = run->End();
  EXPECT_EQ(end.data["code"], "cancelled");
  EXPECT_TRUE(Contains(end.data["message"].get<std::string>(), "did not stop it within 2 s"));
  EXPECT_EQ(pool->Health()[0].in_flight, 0);
  EXPECT_EQ(pool->Health()[0].state, "ready");  // the worker itself is fine
}

TEST(WorkerPool, GarbageAndUnknownMessagesAreIgnored) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  const int pid = pool->Health()[0].pid;
  auto run = SubmitOk(*pool, "garbage-run", "garbage");
  ASSERT_TRUE(run->WaitEnd(5s));
  const auto events = run->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "token");
  EXPECT_EQ(events[0].data["text"], "ok");
  EXPECT_EQ(run->End().type, "done");
  const auto health = pool->Health()[0];
  EXPECT_EQ(health.pid, pid);
  EXPECT_EQ(health.state, "ready");
  EXPECT_EQ(health.restarts, 0);
}

TEST(WorkerPool, WorkerThatStopsAnsweringPingsIsKilledAndReplaced) {
  auto options = FakeOptions(1, {"--no-pong"});
  options.ping_interval = 100ms;
  options.ping_timeout = 300ms;
  options.max_restarts_per_minute = 100;
  auto pool = StartPool(std::move(options));
  ASSERT_TRUE(pool);
  const int pid = pool->Health()[0].pid;
  auto run = SubmitOk(*pool, "unlucky", "sleep");
  ASSERT_TRUE(run->WaitEnd(3s));
  const auto end = run->End();
  EXPECT_EQ(end.data["code"], "worker_crashed");
  EXPECT_EQ(end.data["message"], "worker " + std::to_string(pid) +
                                     " did not answer a ping within 300 ms and was killed during the run");
  ASSERT_TRUE(Eventually([&] { return pool->Health()[0].restarts >= 1; }, 3s));
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(WorkerPool, EmbedReturnsOneVectorPerTextInOrder) {
  auto pool = StartPool(FakeOptions(2));
  ASSERT_NE(pool, nullptr);
  auto got = pool->Embed({"a", "abcd"});
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->model, "fake-embed");
  EXPECT_EQ(got->dimension, 3);
  ASSERT_EQ(got->vectors.size(), 2u);
  EXPECT_EQ(got->vectors[0], (std::vector<float>{1, 1, 0}));
  EXPECT_EQ(got->vectors[1], (std::vector<float>{4, 1, 0}));
  EXPECT_TRUE(pool->Embed({}).ok());
}

TEST(WorkerPool, EmbedErrorsAndSilenceBecomeErrors) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_NE(pool, nullptr);
  auto failed = pool->Embed({"fail"});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("no model here"), std::string::npos);
  auto silent = pool->Embed({"hang"}, 300ms);
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(pool->Health().at(0).in_flight, 0);  // the abandoned embed is forgotten
  EXPECT_TRUE(pool->Embed({"ok"}).ok());        // and the worker still serves
}

TEST(WorkerPool, StartFailsClearlyWhenTheCommandDoesNotExist) {
  auto options = FakeOptions(2);
  options.command = {"/nonexistent/steward-python", "-m", "steward_worker"};
  auto pool = WorkerPool::Start(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(Contains(pool.error().message, "`/nonexistent/steward-python` does not exist")) << pool.error().message;

  options.command = {"no-such-steward-python"};
  pool = WorkerPool::Start(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_TRUE(Contains(pool.error().message, "`no-such-steward-python` was not found in PATH")) << pool.error().message;
}

TEST(WorkerPool, StartFailsWithExitStatusAndStderrWhenTheWorkerExitsEarly) {
  auto pool = WorkerPool::Start(FakeOptions(2, {"--start=exit1"}));
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(Contains(pool.error().message, "exited with status 1 before ready: ")) << pool.error().message;
  EXPECT_TRUE(Contains(pool.error().message, "boom: the fake worker cannot start")) << pool.error().message;
}

TEST(WorkerPool, StartFailsWhenTheWorkerNeverSendsReady) {
  auto options = FakeOptions(1, {"--start=never"});
  options.start_timeout = 500ms;
  const auto start = Clock::now();
  auto pool = WorkerPool::Start(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_LT(Clock::now() - start, 4s);
  EXPECT_TRUE(Contains(pool.error().message, "did not send `ready` within 500 ms")) << pool.error().message;
}

TEST(WorkerPool, StartRejectsInvalidOptions) {
  auto options = FakeOptions(0);
  auto pool = WorkerPool::Start(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kInvalidArgument);
  options = FakeOptions(1);
  options.command.clear();
  pool = WorkerPool::Start(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.error().code, ErrorCode::kInvalidArgument);
}

TEST(WorkerPool, ShutdownEndsInFlightRunsAsCancelled) {
  auto pool = StartPool(FakeOptions(2));
  ASSERT_TRUE(pool);
  auto sleeping = SubmitOk(*pool, "sleeping", "sleep");
  auto hung = SubmitOk(*pool, "hung", "hang");
  ASSERT_TRUE(Eventually([&] { return !sleeping->events().empty() && !hung->events().empty(); }, 3s));
  const auto health = pool->Health();
  const auto start = Clock::now();
  pool->Shutdown();
  EXPECT_LT(Clock::now() - start, 2s);  // the workers obeyed `shutdown`
  for (const auto& run : {sleeping, hung}) {
    ASSERT_TRUE(run->WaitEnd(0ms));
    const auto end = run->End();
    EXPECT_EQ(end.data["code"], "cancelled");
    EXPECT_TRUE(Contains(end.data["message"].get<std::string>(), "shutting down"));
  }
  for (const auto& worker : health) EXPECT_TRUE(ProcessGone(worker.pid));
  const Status late = pool->Submit(Request("late", "echo x"), [](const WorkerEvent&) {});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(pool->Health()[0].state, "stopped");
  pool->Shutdown();  // idempotent
}

TEST(WorkerPool, ShutdownKillsWorkersThatIgnoreIt) {
  auto pool = StartPool(FakeOptions(1, {"--ignore-shutdown"}));
  ASSERT_TRUE(pool);
  const int pid = pool->Health()[0].pid;
  const auto start = Clock::now();
  pool->Shutdown();
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 3900ms);  // 3 s for `shutdown`, 1 s for SIGTERM, then SIGKILL
  EXPECT_LT(elapsed, 6s);
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(WorkerPool, CrashLoopingSlotIsMarkedFailed) {
  auto options = FakeOptions(1);
  options.max_restarts_per_minute = 2;
  auto pool = StartPool(std::move(options));
  ASSERT_TRUE(pool);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Eventually([&] { return pool->Health()[0].state == "ready"; }, 5s)) << i;
    auto run = SubmitOk(*pool, "crash-" + std::to_string(i), "crash");
    ASSERT_TRUE(run->WaitEnd(5s));
  }
  ASSERT_TRUE(Eventually([&] { return pool->Health()[0].state == "failed"; }, 2s));
  EXPECT_EQ(pool->Health()[0].restarts, 2);
  const Status refused = pool->Submit(Request("refused", "echo x"), [](const WorkerEvent&) {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(Contains(refused.error().message, "failed (crash loop)")) << refused.error().message;
}

TEST(WorkerPool, WorkersDieWhenTheCoreIsKilled) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t core = fork();
  ASSERT_GE(core, 0);
  if (core == 0) {
    // A stand-in core: start a pool, report the worker pid, wait to be SIGKILLed.
    close(fds[0]);
    auto pool = WorkerPool::Start(FakeOptions(1));
    const int pid = pool.ok() ? (*pool)->Health()[0].pid : 0;
    (void)!write(fds[1], &pid, sizeof pid);
    for (;;) pause();
  }
  close(fds[1]);
  int worker_pid = 0;
  const ssize_t n = read(fds[0], &worker_pid, sizeof worker_pid);
  close(fds[0]);
  const bool worker_was_alive = worker_pid > 0 && !ProcessGone(worker_pid);
  kill(core, SIGKILL);
  waitpid(core, nullptr, 0);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof worker_pid));
  ASSERT_TRUE(worker_was_alive) << worker_pid;
  EXPECT_TRUE(Eventually([&] { return ProcessGone(worker_pid); }, 3s));
}

TEST(WorkerPool, TokenEventsCostMicroseconds) {
  auto pool = StartPool(FakeOptions(1));
  ASSERT_TRUE(pool);
  constexpr int kTokens = 20000;
  std::atomic<int> tokens{0};
  std::atomic<bool> in_order{true};
  Clock::time_point first{};
  Clock::time_point last{};
  auto recorder = Recorder::Make();
  const Status submitted = pool->Submit(Request("burst", "many " + std::to_string(kTokens)), [&](const WorkerEvent& e) {
    if (e.type == "token") {
      const int n = tokens.fetch_add(1);
      if (n == 0) first = Clock::now();
      last = Clock::now();
      if (e.data["text"].get_ref<const std::string&>() != "t" + std::to_string(n) + " ") in_order = false;
      return;
    }
    recorder->Add(e);
  });
  ASSERT_TRUE(submitted.ok());
  ASSERT_TRUE(recorder->WaitEnd(8s));
  EXPECT_EQ(recorder->End().type, "done");
  EXPECT_EQ(tokens.load(), kTokens);
  EXPECT_TRUE(in_order.load());
  const double us_per_event =
      std::chrono::duration<double, std::micro>(last - first).count() / static_cast<double>(kTokens - 1);
  std::printf("token events: %.2f us each (reader thread, incl. parse and sink)\n", us_per_event);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "timing is meaningless under a sanitizer";
#endif
  EXPECT_LT(us_per_event, 50.0);  // generous: the machine is shared; expect a few us
}

}  // namespace
}  // namespace steward::runners
