#include "tools/builtin/email_tool_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <pqxx/pqxx>

#include "store/testing/migrated_database_suite.hpp"

namespace steward::tools::builtin {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Records what would have gone over SMTP; can be told to fail.
struct FakeSmtp {
  std::mutex mu;
  std::vector<std::pair<SmtpEnvelope, std::string>> sent;
  std::atomic<bool> fail{false};
  std::atomic<int> delay_ms{0};

  SmtpSender Sender() {
    return [this](const SmtpEnvelope& envelope, const std::string& message) -> Status {
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      if (fail) return MakeError(ErrorCode::kUnavailable, "sending failed: connection refused");
      std::lock_guard lock(mu);
      sent.emplace_back(envelope, message);
      return Status::Ok();
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return sent.size();
  }
};

class EmailToolProviderTest : public steward::testing::MigratedDatabaseSuite<> {
 protected:

  EmailToolProvider Provider() {
    EmailToolsConfig config;
    config.smtp_url = "smtp://127.0.0.1:1";
    config.from = "Steward <steward@example.com>";
    config.allow_recipients = {"*@example.com"};
    return EmailToolProvider(*db_, config, smtp_.Sender());
  }

  std::string OutboxStatus(int64_t id) {
    auto s = db_->Read([&](pqxx::read_transaction& tx) {
      return tx.exec_params1("SELECT status FROM email_outbox WHERE id = $1", id)[0].as<std::string>();
    });
    return s.ok() ? *s : s.error().ToString();
  }

  FakeSmtp smtp_;
  CallContext ctx_;
};

TEST_F(EmailToolProviderTest, SendsOnceAndRecordsItAsSent) {
  auto provider = Provider();
  auto r = provider.Call("send", {{"to", {"ana@example.com"}}, {"subject", "Hi"}, {"body", "Hello"}}, ctx_);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(smtp_.count(), 1u);
  EXPECT_EQ(smtp_.sent[0].first.from, "steward@example.com");
  EXPECT_EQ(smtp_.sent[0].first.recipients, std::vector<std::string>{"ana@example.com"});
  EXPECT_THAT(smtp_.sent[0].second, HasSubstr("Subject: Hi\r\n"));
  EXPECT_EQ(OutboxStatus(r->structured["id"].get<int64_t>()), "sent");
}

TEST_F(EmailToolProviderTest, RefusesUnlistedRecipientsBeforeStoringOrSending) {
  auto provider = Provider();
  auto r = provider.Call("send", {{"to", {"ana@example.com"}}, {"cc", {"x@evil.org"}}, {"subject", "s"}, {"body", "b"}}, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(r.error().message, HasSubstr("x@evil.org"));
  EXPECT_EQ(smtp_.count(), 0u);
}

TEST_F(EmailToolProviderTest, SameKeyTwiceSendsOnceEvenConcurrently) {
  auto provider = Provider();
  smtp_.delay_ms = 200;  // the first send is still in flight when the second arrives
  const json args = {{"to", {"ana@example.com"}}, {"subject", "s"}, {"body", "b"}, {"idempotency_key", "k-concurrent"}};
  Result<ToolCallResult> a = MakeError(ErrorCode::kInternal, "unset");
  Result<ToolCallResult> b = MakeError(ErrorCode::kInternal, "unset");
  std::thread t1([&] { a = provider.Call("send", args, ctx_); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread t2([&] { b = provider.Call("send", args, ctx_); });
  t1.join();
  t2.join();
  EXPECT_EQ(smtp_.count(), 1u);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  ASSERT_FALSE(b.ok());  // in progress at the time: refused, not queued, never sent twice
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);

  smtp_.delay_ms = 0;
  auto again = provider.Call("send", args, ctx_);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->structured["duplicate"].get<bool>());
  EXPECT_EQ(smtp_.count(), 1u);
}

TEST_F(EmailToolProviderTest, AFailedSendCanBeRetriedWithTheSameKey) {
  auto provider = Provider();
  const json args = {{"to", {"ana@example.com"}}, {"subject", "s"}, {"body", "b"}, {"idempotency_key", "k-retry"}};
  smtp_.fail = true;
  auto first = provider.Call("send", args, ctx_);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  smtp_.fail = false;
  auto second = provider.Call("send", args, ctx_);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_FALSE(second->structured["duplicate"].get<bool>());
  EXPECT_EQ(smtp_.count(), 1u);
  EXPECT_EQ(OutboxStatus(second->structured["id"].get<int64_t>()), "sent");
}

TEST_F(EmailToolProviderTest, DraftIsStoredNotSentAndASendWithItsKeyReplacesIt) {
  auto provider = Provider();
  auto draft = provider.Call("draft", {{"to", {"ana@example.com"}}, {"subject", "d"}, {"body", "b"}, {"idempotency_key", "k-draft"}}, ctx_);
  ASSERT_TRUE(draft.ok()) << draft.error().ToString();
  const int64_t id = draft->structured["id"].get<int64_t>();
  EXPECT_EQ(OutboxStatus(id), "draft");
  EXPECT_EQ(smtp_.count(), 0u);
  auto sent = provider.Call("send", {{"to", {"ana@example.com"}}, {"subject", "d"}, {"body", "b"}, {"idempotency_key", "k-draft"}}, ctx_);
  ASSERT_TRUE(sent.ok()) << sent.error().ToString();
  EXPECT_EQ(sent->structured["id"].get<int64_t>(), id);
  EXPECT_EQ(OutboxStatus(id), "sent");
  EXPECT_EQ(smtp_.count(), 1u);
}

}  // namespace
}  // namespace steward::tools::builtin
