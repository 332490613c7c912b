#include "tools/approval_store.hpp"

#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/testing/migrated_database_suite.hpp"
#include "tools/approval_gate.hpp"

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kRun = "bbbbbbbb-0000-4000-8000-000000000001";
constexpr const char* kOtherRun = "bbbbbbbb-0000-4000-8000-000000000002";

class PgApprovalStoreTest : public steward::testing::MigratedDatabaseSuite<> {
 protected:

  ApprovalRecord Stored(const json& args, std::string run_id = kRun) {
    static int n = 0;
    char id[40];
    std::snprintf(id, sizeof id, "cccccccc-0000-4000-8000-%012d", ++n);
    ApprovalRecord r;
    r.id = id;
    r.run_id = std::move(run_id);
    r.tool = "email.send";
    r.arguments = args;
    r.arguments_hash = ArgumentsHash(args);
    r.tier = "high";
    r.reason = "sending";
    auto stored = store_.Insert(r);
    EXPECT_TRUE(stored.ok()) << stored.error().ToString();
    return stored.ok() ? *stored : r;
  }

  PgApprovalStore store_{*db_};
};

TEST_F(PgApprovalStoreTest, InsertKeepsTheRequestExactly) {
  const json args = {{"to", "bob@example.com"}, {"subject", "Hi ✓"}};
  const ApprovalRecord r = Stored(args);
  auto got = store_.Get(r.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tool, "email.send");
  EXPECT_EQ(got->arguments, args);
  EXPECT_EQ(got->arguments_hash, ArgumentsHash(args));
  EXPECT_EQ(got->run_id, kRun);
  EXPECT_EQ(got->session_id, "");
  EXPECT_EQ(got->status, ApprovalStatus::kPending);
  EXPECT_FALSE(got->requested_at.empty());
  EXPECT_TRUE(got->decided_at.empty());
}

TEST_F(PgApprovalStoreTest, DecideRecordsWhoWhenAndWhyOnce) {
  const ApprovalRecord r = Stored(json{{"to", "a"}});
  auto decided = store_.Decide(r.id, ApprovalStatus::kDenied, "owner", "no thanks", false);
  ASSERT_TRUE(decided.ok()) << decided.error().ToString();
  EXPECT_EQ(decided->status, ApprovalStatus::kDenied);
  EXPECT_EQ(decided->decided_by, "owner");
  EXPECT_EQ(decided->note, "no thanks");
  EXPECT_FALSE(decided->decided_at.empty());
  auto again = store_.Decide(r.id, ApprovalStatus::kApproved, "owner", "", false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_THAT(again.error().message, HasSubstr("already decided: denied by owner"));
  EXPECT_EQ(store_.Get(r.id)->status, ApprovalStatus::kDenied);
}

TEST_F(PgApprovalStoreTest, UnknownAndMalformedIdsAreNotFound) {
  EXPECT_EQ(store_.Get("cccccccc-ffff-4000-8000-000000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_.Get("'; DROP TABLE approval; --").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_.Decide("nope", ApprovalStatus::kApproved, "owner", "", false).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_.Decide("cccccccc-ffff-4000-8000-000000000000", ApprovalStatus::kApproved, "owner", "", false)
                .error()
                .code,
            ErrorCode::kNotFound);
}

TEST_F(PgApprovalStoreTest, ConcurrentDecisionsHaveExactlyOneWinner) {
  const ApprovalRecord r = Stored(json{{"to", "race"}});
  auto approve = std::async(std::launch::async,
                            [&] { return store_.Decide(r.id, ApprovalStatus::kApproved, "owner", "", false).ok(); });
  auto expire = std::async(std::launch::async,
                           [&] { return store_.Decide(r.id, ApprovalStatus::kExpired, "timeout", "", true).ok(); });
  EXPECT_EQ(int{approve.get()} + int{expire.get()}, 1);
}

TEST_F(PgApprovalStoreTest, AnApprovalCoversOneCallOnce) {
  const json args = {{"to", "bob@example.com"}};
  const ApprovalRecord r = Stored(args);
  // Not yet approved: nothing to use.
  EXPECT_EQ(store_.MarkUsed(r.id, kRun, "email.send", r.arguments_hash).error().code,
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(store_.Decide(r.id, ApprovalStatus::kApproved, "owner", "", false).ok());
  // Another call: other arguments, another tool, another run.
  EXPECT_FALSE(store_.MarkUsed(r.id, kRun, "email.send", ArgumentsHash(json{{"to", "eve@example.com"}})).ok());
  EXPECT_FALSE(store_.MarkUsed(r.id, kRun, "email.draft", r.arguments_hash).ok());
  EXPECT_FALSE(store_.MarkUsed(r.id, kOtherRun, "email.send", r.arguments_hash).ok());
  EXPECT_FALSE(store_.MarkUsed(r.id, "", "email.send", r.arguments_hash).ok());
  // Its own call, once.
  EXPECT_TRUE(store_.MarkUsed(r.id, kRun, "email.send", r.arguments_hash).ok());
  EXPECT_FALSE(store_.MarkUsed(r.id, kRun, "email.send", r.arguments_hash).ok()) << "replayed";
  EXPECT_FALSE(store_.Get(r.id)->used_at.empty());
}

TEST_F(PgApprovalStoreTest, ADeniedApprovalCannotBeUsed) {
  const ApprovalRecord r = Stored(json{{"to", "x"}});
  ASSERT_TRUE(store_.Decide(r.id, ApprovalStatus::kDenied, "owner", "", false).ok());
  EXPECT_FALSE(store_.MarkUsed(r.id, kRun, "email.send", r.arguments_hash).ok());
}

TEST_F(PgApprovalStoreTest, ListFiltersByStatusNewestFirst) {
  const ApprovalRecord a = Stored(json{{"n", 1}});
  std::this_thread::sleep_for(5ms);
  const ApprovalRecord b = Stored(json{{"n", 2}});
  ASSERT_TRUE(store_.Decide(a.id, ApprovalStatus::kApproved, "owner", "", false).ok());
  auto pending = store_.List(ApprovalStatus::kPending, 1000);
  ASSERT_TRUE(pending.ok());
  bool saw_b = false;
  for (const auto& r : *pending) {
    EXPECT_EQ(r.status, ApprovalStatus::kPending);
    EXPECT_NE(r.id, a.id);
    saw_b = saw_b || r.id == b.id;
  }
  EXPECT_TRUE(saw_b);
  auto all = store_.List(std::nullopt, 2);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, b.id);
}

TEST_F(PgApprovalStoreTest, TheGateOnPostgresWaitsDecidesAndConsumes) {
  ApprovalGateOptions options;
  options.timeout = 10s;
  options.poll_interval = 10ms;
  ApprovalGate gate(store_, options);
  std::mutex mu;
  std::string id;
  CallContext ctx;
  ctx.run_id = kRun;
  ctx.emit = [&](std::string_view type, const json& data) {
    std::lock_guard lock(mu);
    if (type == "approval_required") id = data["approval_id"];
  };
  auto call = std::async(std::launch::async, [&] {
    return gate.Await("email.send", json{{"to", "pg"}}, Assessment{Tier::kHigh, true, "sending"}, ctx);
  });
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu);
      if (!id.empty()) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::string approval_id;
  {
    std::lock_guard lock(mu);
    approval_id = id;
  }
  ASSERT_FALSE(approval_id.empty());
  ASSERT_TRUE(gate.Decide(approval_id, true, "owner", "ok").ok());
  auto outcome = call.get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->approved());
  auto stored = store_.Get(approval_id);
  EXPECT_EQ(stored->status, ApprovalStatus::kApproved);
  EXPECT_FALSE(stored->used_at.empty());
}

TEST_F(PgApprovalStoreTest, ExpireAllPendingEscalatesOrphans) {
  const ApprovalRecord r = Stored(json{{"orphan", true}});
  auto n = store_.ExpireAllPending("restart", "steward restarted");
  ASSERT_TRUE(n.ok());
  EXPECT_GE(*n, 1);
  auto got = store_.Get(r.id);
  EXPECT_EQ(got->status, ApprovalStatus::kExpired);
  EXPECT_TRUE(got->escalated);
  EXPECT_EQ(got->decided_by, "restart");
}

}  // namespace
}  // namespace steward::tools
