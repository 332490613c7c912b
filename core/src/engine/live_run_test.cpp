#include "engine/live_run.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace steward::engine {
namespace {

RunIdentity Identity() {
  RunIdentity identity;
  identity.run_id = "00000000-0000-4000-8000-0000000000aa";
  return identity;
}

TEST(LiveRun, EventsCarryTheRunIdAndNonObjectsAreWrapped) {
  LiveRun run(Identity());
  ASSERT_TRUE(run.Emit("status", Json{{"text", "hi"}}));
  ASSERT_TRUE(run.Emit("token", Json("x")));
  auto first = run.Next(std::chrono::milliseconds(0));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type, "status");
  EXPECT_EQ(first->data, (Json{{"text", "hi"}, {"run_id", run.id()}}));
  auto second = run.Next(std::chrono::milliseconds(0));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->data, (Json{{"value", "x"}, {"run_id", run.id()}}));
  EXPECT_FALSE(run.Next(std::chrono::milliseconds(0)).has_value());
}

TEST(LiveRun, NothingFollowsTheTerminalEvent) {
  LiveRun run(Identity());
  ASSERT_TRUE(run.Emit("done", Json::object()));
  EXPECT_FALSE(run.Emit("status", Json::object()));
  EXPECT_TRUE(run.finished());
  EXPECT_EQ(run.Next(std::chrono::milliseconds(0))->type, "done");
  EXPECT_FALSE(run.Next(std::chrono::milliseconds(0)).has_value());
}

// Emit wakes a waiting reader only for the first event of a burst (the reader is already awake
// for the rest); none of a burst may be left waiting for a wake-up that never comes. A lost
// wake-up shows as a Next that times out (a minute) with events queued.
TEST(LiveRun, AReaderWokenOnceGetsEveryEventOfABurst) {
  LiveRun run(Identity());
  constexpr int kBursts = 200;
  constexpr int kPerBurst = 3;
  std::atomic<int> taken{0};
  std::vector<int> seen;
  std::thread reader([&] {
    for (int i = 0; i < kBursts * kPerBurst; ++i) {
      auto event = run.Next(std::chrono::minutes(1));
      if (!event) return;
      seen.push_back(event->data["n"].get<int>());
      taken.fetch_add(1);
    }
  });
  for (int burst = 0; burst < kBursts; ++burst) {
    // Let the reader drain the previous burst and go back to waiting on an empty queue.
    while (taken.load() < burst * kPerBurst) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    for (int k = 0; k < kPerBurst; ++k) ASSERT_TRUE(run.Emit("status", Json{{"n", burst * kPerBurst + k}}));
  }
  reader.join();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kBursts * kPerBurst));
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<int>(i));
}

}  // namespace
}  // namespace steward::engine
