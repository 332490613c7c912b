#include "memory/memory_tool_provider.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/testing/migrated_database_suite.hpp"
#include "tools/tool_registry.hpp"

namespace steward::memory {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kTrip = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr const char* kTax = "aaaaaaaa-0000-0000-0000-000000000002";
constexpr const char* kJune = "aaaaaaaa-0000-0000-0000-000000000003";
constexpr const char* kCurrent = "aaaaaaaa-0000-0000-0000-000000000004";
constexpr const char* kRun = "bbbbbbbb-0000-0000-0000-000000000001";

class MemoryToolProviderTest : public steward::testing::MigratedDatabaseSuite<2> {
 protected:
  void SetUp() override {
    ASSERT_NE(db_, nullptr);
    ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
                     tx.exec("TRUNCATE chat_session, chat_message, memory_item, memory_link, "
                             "memory_access_log RESTART IDENTITY CASCADE");
                   }).ok());
    provider_ = std::make_unique<MemoryToolProvider>(*db_);

    AddSession(kTrip, "Trip planning");
    AddMessage(kTrip, "user", "I want to plan a trip to Paris in April, budget around 2000 euros.",
               "2024-03-01T10:00:00Z");
    AddMessage(kTrip, "assistant",
               "For a Paris trip in April, book the Louvre tickets early; trains from Lyon are cheap.",
               "2024-03-01T10:01:00Z");
    AddMessage(kTrip, "system", "Paris trip system prompt that must never be recalled.",
               "2024-03-01T09:59:00Z");
    AddSession(kTax, "Taxes");
    AddMessage(kTax, "user", "Remind me that the tax return is due in May.", "2024-04-10T08:00:00Z");
    AddMessage(kTax, "assistant", "Noted: tax return deadline in May. Also kubernetes upgrade.",
               "2024-04-10T08:01:00Z");
    AddSession(kJune, "Summer");
    AddMessage(kJune, "user", "What budget should the summer trip to Rome have?",
               "2024-06-01T12:00:00Z");
    AddSession(kCurrent, "Current chat");
    AddMessage(kCurrent, "user", "What did we say about the Paris trip?", "2024-07-01T12:00:00Z");

    ctx_.principal = "run";
    ctx_.run_id = kRun;
    ctx_.session_id = kCurrent;
    ctx_.allowed_tools = {"memory.*"};
  }

  void AddSession(const std::string& id, const std::string& title) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params(
                         "INSERT INTO chat_session (id, title, agent) VALUES ($1::uuid, $2, 'a')",
                         id, title);
                   }).ok());
  }

  void AddMessage(const std::string& session, const std::string& role, const std::string& content,
                  const std::string& at) {
    ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                     tx.exec_params(
                         "INSERT INTO chat_message (session_id, role, content, created_at) "
                         "VALUES ($1::uuid, $2, $3, $4::timestamptz)",
                         session, role, content, at);
                   }).ok());
  }

  json Call(const std::string& tool, const json& args) {
    auto result = provider_->Call(tool, args, ctx_);
    EXPECT_TRUE(result.ok()) << result.error().ToString();
    if (!result.ok()) return json();
    EXPECT_FALSE(result->is_error);
    EXPECT_EQ(result->content[0]["type"], "text");
    last_text_ = result->content[0]["text"].get<std::string>();
    return result->structured;
  }

  std::vector<std::string> SessionsOf(const json& matches) {
    std::vector<std::string> out;
    for (const auto& m : matches) out.push_back(m["session_id"]);
    return out;
  }

  int64_t Count(const std::string& sql) {
    auto n = db_->Read([&](pqxx::read_transaction& tx) { return tx.exec1(sql)[0].as<int64_t>(); });
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<MemoryToolProvider> provider_;
  tools::CallContext ctx_;
  std::string last_text_;
};

TEST_F(MemoryToolProviderTest, ListsThreeNamespacedTools) {
  auto tools = provider_->ListTools();
  ASSERT_EQ(tools.size(), 3u);
  EXPECT_EQ(tools[0].name, "memory.recall_conversation");
  EXPECT_EQ(tools[1].name, "memory.remember");
  EXPECT_EQ(tools[2].name, "memory.search");
  for (const auto& t : tools) {
    EXPECT_EQ(t.server, "memory");
    EXPECT_EQ(t.input_schema["type"], "object");
    EXPECT_FALSE(t.description.empty());
  }
}

TEST_F(MemoryToolProviderTest, RecallFindsEarlierConversationByTopic) {
  json out = Call("recall_conversation", {{"query", "paris trip"}});
  const json& matches = out["matches"];
  ASSERT_EQ(matches.size(), 2u) << out.dump(2);
  for (const auto& m : matches) {
    EXPECT_EQ(m["session_id"], kTrip);
    EXPECT_EQ(m["session_title"], "Trip planning");
    EXPECT_THAT(m["excerpt"].get<std::string>(), HasSubstr("Paris"));
  }
  // Chronological within the conversation; system messages are never recalled.
  EXPECT_EQ(matches[0]["role"], "user");
  EXPECT_EQ(matches[0]["created_at"], "2024-03-01T10:00:00.000Z");
  EXPECT_EQ(matches[1]["role"], "assistant");
  EXPECT_THAT(last_text_, HasSubstr("Trip planning"));
  EXPECT_EQ(matches[0]["excerpt"],
            "I want to plan a trip to Paris in April, budget around 2000 euros.");
  EXPECT_THAT(last_text_, HasSubstr("2 messages in 1 earlier conversation"));
}

TEST_F(MemoryToolProviderTest, RecallExcludesCurrentSession) {
  ctx_.session_id = kTrip;  // now the Paris conversation is the current one
  json out = Call("recall_conversation", {{"query", "paris trip"}});
  EXPECT_THAT(SessionsOf(out["matches"]), ::testing::Each(kCurrent));
  EXPECT_FALSE(out["matches"].empty());

  ctx_.session_id = kCurrent;
  json louvre = Call("recall_conversation", {{"query", "louvre"}});
  EXPECT_EQ(louvre["matches"].size(), 1u);
  ctx_.session_id = kTrip;
  json none = Call("recall_conversation", {{"query", "louvre"}});
  EXPECT_TRUE(none["matches"].empty());
  EXPECT_THAT(last_text_, HasSubstr("No earlier conversation matches \"louvre\""));
}

TEST_F(MemoryToolProviderTest, RecallRespectsTimeRange) {
  json all = Call("recall_conversation", {{"query", "budget"}});
  EXPECT_EQ(all["matches"].size(), 2u);

  json after = Call("recall_conversation", {{"query", "budget"}, {"since", "2024-05-01T00:00:00Z"}});
  EXPECT_EQ(SessionsOf(after["matches"]), std::vector<std::string>{kJune});

  json before = Call("recall_conversation", {{"query", "budget"}, {"until", "2024-05-01T00:00:00Z"}});
  EXPECT_EQ(SessionsOf(before["matches"]), std::vector<std::string>{kTrip});

  json window = Call("recall_conversation", {{"query", "budget"},
                                             {"since", "2024-03-01T10:00:01+00:00"},
                                             {"until", "2024-05-31T00:00:00Z"}});
  EXPECT_TRUE(window["matches"].empty());
}

TEST_F(MemoryToolProviderTest, RecallGroupsMatchesByConversation) {
  // "trip" is in the Paris conversation (twice) and the June one; whatever the ranking, each
  // conversation's matches must be contiguous.
  json out = Call("recall_conversation", {{"query", "trip"}});
  auto sessions = SessionsOf(out["matches"]);
  ASSERT_EQ(sessions.size(), 3u);
  std::vector<std::string> runs;
  for (const auto& s : sessions) {
    if (runs.empty() || runs.back() != s) runs.push_back(s);
  }
  EXPECT_EQ(runs.size(), 2u) << out.dump(2);
  EXPECT_THAT(runs, ::testing::UnorderedElementsAre(kTrip, kJune));
}

TEST_F(MemoryToolProviderTest, RecallHonoursLimit) {
  json out = Call("recall_conversation", {{"query", "trip"}, {"limit", 1}});
  EXPECT_EQ(out["matches"].size(), 1u);
}

TEST_F(MemoryToolProviderTest, RecallFallsBackToSubstringWhenFullTextFindsNothing) {
  // "kube" is a prefix: the English stemmer never produces it, ILIKE does find it.
  json out = Call("recall_conversation", {{"query", "kube"}});
  ASSERT_EQ(out["matches"].size(), 1u);
  EXPECT_EQ(out["matches"][0]["session_id"], kTax);
  EXPECT_THAT(out["matches"][0]["excerpt"].get<std::string>(), HasSubstr("kubernetes"));

  // Stop words only: full-text search has nothing to look for.
  json stop = Call("recall_conversation", {{"query", "the"}});
  EXPECT_FALSE(stop["matches"].empty());
}

TEST_F(MemoryToolProviderTest, RecallTreatsLikeWildcardsLiterally) {
  json out = Call("recall_conversation", {{"query", "%_%"}});
  EXPECT_TRUE(out["matches"].empty()) << out.dump(2);
}

TEST_F(MemoryToolProviderTest, RememberThenSearchFindsIt) {
  json saved = Call("remember", {{"content", "The user's favourite tea is genmaicha, brewed at 80 degrees."},
                                 {"title", "Tea preference"}});
  ASSERT_TRUE(saved["id"].is_number_integer());
  EXPECT_EQ(saved["source"], std::string("conversation:") + kCurrent);
  EXPECT_EQ(saved["title"], "Tea preference");
  EXPECT_THAT(last_text_, HasSubstr("Saved note"));

  Call("remember", {{"content", "Passport expires in 2031."}});
  json found = Call("search", {{"query", "favourite tea"}});
  ASSERT_EQ(found["results"].size(), 1u) << found.dump(2);
  const json& hit = found["results"][0];
  EXPECT_EQ(hit["id"], saved["id"]);
  EXPECT_EQ(hit["title"], "Tea preference");
  EXPECT_THAT(hit["excerpt"].get<std::string>(), HasSubstr("genmaicha"));
  EXPECT_THAT(last_text_, HasSubstr("Tea preference"));
}

TEST_F(MemoryToolProviderTest, RememberDerivesTitleFromFirstLine) {
  json saved = Call("remember", {{"content", "  Dentist on Tuesday\nat 9:30, bring the x-rays"}});
  EXPECT_EQ(saved["title"], "Dentist on Tuesday");
}

TEST_F(MemoryToolProviderTest, SearchRanksTitleMatchesFirst) {
  Call("remember", {{"content", "Notes about many things, including gardening once."}, {"title", "Misc"}});
  json garden = Call("remember", {{"content", "Tomatoes need sun."}, {"title", "Gardening plan"}});
  json found = Call("search", {{"query", "gardening"}});
  ASSERT_EQ(found["results"].size(), 2u);
  EXPECT_EQ(found["results"][0]["id"], garden["id"]);
}

TEST_F(MemoryToolProviderTest, SearchSkipsItemsNoLongerValid) {
  json saved = Call("remember", {{"content", "The office wifi password is hunter2."}});
  ASSERT_TRUE(db_->Transact([&](pqxx::work& tx) {
                   tx.exec_params("UPDATE memory_item SET valid_to = now() - interval '1 second', "
                                  "valid_from = now() - interval '1 day' WHERE id = $1",
                                  saved["id"].get<int64_t>());
                 }).ok());
  EXPECT_TRUE(Call("search", {{"query", "wifi password"}})["results"].empty());
  EXPECT_THAT(last_text_, HasSubstr("Nothing in memory matches"));
}

TEST_F(MemoryToolProviderTest, SearchFallsBackToSubstring) {
  json saved = Call("remember", {{"content", "Favourite tea: genmaicha."}});
  json found = Call("search", {{"query", "genmai"}});  // a prefix: no stem matches it
  ASSERT_FALSE(found["results"].empty());
  EXPECT_EQ(found["results"][0]["id"], saved["id"]);
  EXPECT_EQ(found["results"][0]["excerpt"], "Favourite tea: genmaicha.");
}

TEST_F(MemoryToolProviderTest, LongTextsAreExcerptedAroundTheMatch) {
  std::string filler;
  for (int i = 0; i < 60; ++i) filler += "lorem ipsum dolor sit amet ";
  Call("remember", {{"content", filler + "the boat leaves from pier seven at dawn " + filler}});
  json found = Call("search", {{"query", "pier"}});
  ASSERT_EQ(found["results"].size(), 1u);
  const std::string excerpt = found["results"][0]["excerpt"];
  EXPECT_THAT(excerpt, HasSubstr("pier"));
  EXPECT_LT(excerpt.size(), 600u);

  Call("remember", {{"content", filler + "zyxwvut-code " + filler}});
  json fallback = Call("search", {{"query", "zyxwvut-co"}});
  ASSERT_EQ(fallback["results"].size(), 1u);
  const std::string cut = fallback["results"][0]["excerpt"];
  EXPECT_THAT(cut, HasSubstr("zyxwvut-code"));
  EXPECT_THAT(cut, ::testing::StartsWith("…"));
  EXPECT_THAT(cut, ::testing::EndsWith("…"));
  EXPECT_LE(cut.size(), 300u);
}

TEST_F(MemoryToolProviderTest, EveryAccessIsLogged) {
  json saved = Call("remember", {{"content", "Anniversary is on 12 September."}});
  const std::string id = std::to_string(saved["id"].get<int64_t>());
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log WHERE action = 'write' AND item_id = " + id +
                  " AND run_id = '" + kRun + "'"),
            1);

  Call("search", {{"query", "anniversary"}});
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log WHERE action = 'search' AND "
                  "query = 'anniversary' AND item_id IS NULL"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log WHERE action = 'read' AND item_id = " + id),
            1);

  Call("recall_conversation", {{"query", "paris"}});
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log WHERE action = 'search' AND "
                  "query LIKE 'recall_conversation: paris'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log"), 4);
}

TEST_F(MemoryToolProviderTest, NonUuidRunAndSessionAreStoredAsNull) {
  ctx_.run_id = "not-a-uuid";
  ctx_.session_id = "";
  json saved = Call("remember", {{"content", "Owner note."}});
  EXPECT_EQ(saved["source"], "conversation");
  EXPECT_EQ(Count("SELECT count(*) FROM memory_access_log WHERE run_id IS NULL"), 1);
  // With no current session nothing is excluded.
  json out = Call("recall_conversation", {{"query", "paris trip"}});
  EXPECT_THAT(SessionsOf(out["matches"]), ::testing::Contains(kCurrent));
}

TEST_F(MemoryToolProviderTest, SchemasRejectBadArgumentsThroughTheRegistry) {
  tools::ToolRegistry registry;
  ASSERT_TRUE(registry.Register(std::shared_ptr<MemoryToolProvider>(
                                    provider_.get(), [](MemoryToolProvider*) {}))
                  .ok());
  auto bad_date = registry.Call("memory.recall_conversation",
                                {{"query", "paris"}, {"since", "last week"}}, ctx_);
  ASSERT_FALSE(bad_date.ok());
  EXPECT_EQ(bad_date.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad_date.error().message, HasSubstr("arguments.since"));

  auto bad_limit = registry.Call("memory.search", {{"query", "x"}, {"limit", 500}}, ctx_);
  ASSERT_FALSE(bad_limit.ok());
  EXPECT_THAT(bad_limit.error().message, HasSubstr("arguments.limit: must be <= 50"));

  auto ok = registry.Call("memory.search", {{"query", "paris"}}, ctx_);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_THAT(ok->structured["results"], Not(::testing::IsNull()));
}

TEST_F(MemoryToolProviderTest, UnknownToolIsNotFound) {
  auto result = provider_->Call("forget", json::object(), ctx_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace steward::memory
