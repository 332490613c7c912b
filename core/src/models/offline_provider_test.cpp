#include "models/offline_provider.hpp"

#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/detail/offline_extract.hpp"
#include "models/detail/offline_rules.hpp"
#include "models/detail/offline_time.hpp"

namespace steward::models {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono;

// Friday 2026-05-15: every relative date in these tests counts from it.
constexpr sys_days kToday = sys_days{2026y / May / 15};

Json Tool(const std::string& name, const std::string& description, Json parameters) {
  return {{"type", "function"},
          {"function", {{"name", name}, {"description", description}, {"parameters", std::move(parameters)}}}};
}

Json Schema(Json properties, Json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

// The tools Steward's researcher agent typically sees.
Json StandardTools() {
  return Json::array({
      Tool("memory.search", "Search saved notes and documents.",
           Schema({{"query", {{"type", "string"}}}, {"limit", {{"type", "integer"}}}}, {"query"})),
      Tool("memory.remember", "Store a fact for later.",
           Schema({{"content", {{"type", "string"}}}}, {"content"})),
      Tool("memory.recall_conversation", "Find earlier conversations.",
           Schema({{"query", {{"type", "string"}}},
                   {"since", {{"type", "string"}, {"format", "date"}}},
                   {"until", {{"type", "string"}, {"format", "date"}}}},
                  {"query"})),
      Tool("web.search", "Search the web.", Schema({{"query", {{"type", "string"}}}}, {"query"})),
      Tool("fs.read_text_file", "Read a text file.", Schema({{"path", {{"type", "string"}}}}, {"path"})),
      Tool("hn.top", "Top Hacker News stories.", Schema({{"limit", {{"type", "integer"}}}}, Json::array())),
  });
}

ChatRequest Ask(const std::string& text, Json tools = StandardTools()) {
  ChatRequest r;
  r.model = "offline";
  r.messages = Json::array({{{"role", "system"}, {"content", "You are Steward."}},
                            {{"role", "user"}, {"content", text}}});
  r.tools = std::move(tools);
  return r;
}

OfflineProvider MakeProvider() {
  ProviderConfig config;
  config.name = "offline";
  config.kind = "offline";
  return OfflineProvider(config, [] { return kToday; });
}

ChatResult Answer(const ChatRequest& request, std::vector<ChatChunk>* chunks = nullptr) {
  OfflineProvider provider = MakeProvider();
  auto result = provider.Complete(request, [&](const ChatChunk& c) {
    if (chunks) chunks->push_back(c);
    return true;
  });
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().ToString());
  return result.ok() ? *result : ChatResult{};
}

struct Call {
  std::string name;
  Json arguments;
};

std::vector<Call> Calls(const ChatResult& r) {
  std::vector<Call> out;
  for (const auto& c : r.tool_calls) {
    out.push_back({c["function"]["name"].get<std::string>(),
                   Json::parse(c["function"]["arguments"].get<std::string>())});
  }
  return out;
}

// A conversation where the assistant called `tool` and got `content` back.
ChatRequest AfterTools(const std::string& question, const std::vector<std::pair<std::string, Json>>& results) {
  ChatRequest r = Ask(question);
  Json calls = Json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    calls.push_back({{"id", "call_" + std::to_string(i + 1)},
                     {"type", "function"},
                     {"function", {{"name", results[i].first}, {"arguments", "{}"}}}});
  }
  r.messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}});
  for (size_t i = 0; i < results.size(); ++i) {
    r.messages.push_back(
        {{"role", "tool"}, {"tool_call_id", "call_" + std::to_string(i + 1)}, {"content", results[i].second}});
  }
  return r;
}

// ---- Tool choice per intent -----------------------------------------------------------------

TEST(OfflineProvider, RememberCallsTheRememberToolWithTheFact) {
  const ChatResult r = Answer(Ask("Please remember that my sister's birthday is on May 3."));
  const auto calls = Calls(r);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "memory.remember");
  EXPECT_EQ(calls[0].arguments, Json({{"content", "my sister's birthday is on May 3"}}));
  EXPECT_EQ(r.finish_reason, "tool_calls");
  EXPECT_EQ(r.tool_calls[0]["id"], "call_1");
}

TEST(OfflineProvider, RecallCallsRecallConversationWithTopicAndDates) {
  const auto calls = Calls(Answer(Ask("What did we discuss about the budget yesterday?")));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "memory.recall_conversation");
  EXPECT_EQ(calls[0].arguments,
            Json({{"query", "budget"}, {"since", "2026-05-14"}, {"until", "2026-05-14"}}));
}

TEST(OfflineProvider, DoYouRememberIsRecallNotRemember) {
  const auto calls = Calls(Answer(Ask("Do you remember what I said about the garden last week?")));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "memory.recall_conversation");
  EXPECT_EQ(calls[0].arguments["query"], "garden");
  EXPECT_EQ(calls[0].arguments["since"], "2026-05-08");
  EXPECT_EQ(calls[0].arguments["until"], "2026-05-15");
}

TEST(OfflineProvider, SearchAsksMemoryAndTheWebInParallel) {
  const ChatResult r = Answer(Ask("Search for rust async runtimes"));
  const auto calls = Calls(r);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "memory.search");
  EXPECT_EQ(calls[0].arguments, Json({{"query", "rust async runtimes"}}));
  EXPECT_EQ(calls[1].name, "web.search");
  EXPECT_EQ(calls[1].arguments, Json({{"query", "rust async runtimes"}}));
  EXPECT_EQ(r.tool_calls[1]["id"], "call_2");
}

TEST(OfflineProvider, WhoIsQuestionSearches) {
  const auto calls = Calls(Answer(Ask("Who is Ada Lovelace?")));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].arguments["query"], "ada lovelace");
}

TEST(OfflineProvider, OtherQuestionsSearchMemoryAndTheWeb) {
  const auto calls = Calls(Answer(Ask("When is my dentist appointment?")));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "memory.search");
  EXPECT_EQ(calls[0].arguments["query"], "dentist appointment");
  EXPECT_EQ(calls[1].name, "web.search");
  EXPECT_TRUE(Calls(Answer(Ask("Sing me a song"))).empty());
}

TEST(OfflineProvider, ReadFileCallsTheFileToolWithThePath) {
  const auto calls = Calls(Answer(Ask("Please read the file ~/notes/todo.md and tell me what is in it")));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "fs.read_text_file");
  EXPECT_EQ(calls[0].arguments, Json({{"path", "~/notes/todo.md"}}));
}

TEST(OfflineProvider, TrendingCallsTheHackerNewsTool) {
  const auto calls = Calls(Answer(Ask("What's trending on Hacker News today?")));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "hn.top");
  EXPECT_EQ(calls[0].arguments, Json::object());
}

TEST(OfflineProvider, MatchesToolNamesWithOtherSeparators) {
  const Json tools = Json::array({Tool("steward_memory__recall_conversation", "",
                                       Schema({{"query", {{"type", "string"}}}}, {"query"})),
                                  Tool("readTextFile", "", Schema({{"path", {{"type", "string"}}}}, {"path"}))});
  auto calls = Calls(Answer(Ask("What did we talk about earlier regarding taxes?", tools)));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "steward_memory__recall_conversation");
  EXPECT_EQ(calls[0].arguments["query"], "regarding taxes");
  calls = Calls(Answer(Ask("open ./report.txt", tools)));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "readTextFile");
}

TEST(OfflineProvider, SkipsToolsWhoseRequiredArgumentsCannotBeBuilt) {
  const Json tools = Json::array({
      Tool("mail.search", "Search mail.", Schema({{"query", {{"type", "string"}}}, {"mailbox", {{"type", "string"}}}},
                                                  {"query", "mailbox"})),
      Tool("docs.search", "Search documents.", Schema({{"query", {{"type", "string"}}}}, {"query"})),
  });
  const auto calls = Calls(Answer(Ask("Find the invoice from ACME", tools)));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "docs.search");
  EXPECT_EQ(calls[0].arguments["query"], "invoice acme");
}

TEST(OfflineProvider, SearchWithoutATopicCallsNothing) {
  const ChatResult r = Answer(Ask("search"));
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST(OfflineProvider, ToolChoiceNoneCallsNoTool) {
  ChatRequest request = Ask("Search for rust async runtimes");
  request.tool_choice = "none";
  EXPECT_TRUE(Answer(request).tool_calls.empty());
}

TEST(OfflineProvider, ToolChoiceNamingAToolCallsIt) {
  ChatRequest request = Ask("rust async runtimes");
  request.tool_choice = {{"type", "function"}, {"function", {{"name", "web.search"}}}};
  const auto calls = Calls(Answer(request));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "web.search");
  EXPECT_EQ(calls[0].arguments["query"], "rust async runtimes");
}

TEST(OfflineProvider, CallIdsContinueAfterEarlierToolCalls) {
  ChatRequest request = AfterTools("Search for rust", {{"web.search", "Rust is a language."}});
  request.messages.push_back({{"role", "assistant"}, {"content", "Rust is a language. [1]"}});
  request.messages.push_back({{"role", "user"}, {"content", "Now search for zig"}});
  const ChatResult r = Answer(request);
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0]["id"], "call_2");
  EXPECT_EQ(r.tool_calls[1]["id"], "call_3");
}

TEST(OfflineProvider, StreamsToolCallsAsOpenAiDeltas) {
  std::vector<ChatChunk> chunks;
  Answer(Ask("Search for rust async runtimes"), &chunks);
  ASSERT_EQ(chunks.size(), 5u);  // (header + arguments) per call, then finish
  EXPECT_EQ(chunks[0].tool_calls[0]["index"], 0);
  EXPECT_EQ(chunks[0].tool_calls[0]["id"], "call_1");
  EXPECT_EQ(chunks[0].tool_calls[0]["function"]["name"], "memory.search");
  EXPECT_EQ(chunks[1].tool_calls[0]["function"]["arguments"], R"({"query":"rust async runtimes"})");
  EXPECT_EQ(chunks[2].tool_calls[0]["index"], 1);
  EXPECT_EQ(chunks[4].finish_reason, "tool_calls");
}

// ---- Arguments from schemas -------------------------------------------------------------------

TEST(OfflineRules, BuildsArgumentsFromSchemas) {
  detail::ArgValues v;
  v.primary = "rust async";
  v.topic_words = {"rust", "async"};
  v.range.since = kToday - days{7};
  v.range.until = kToday;
  using detail::BuildArguments;
  EXPECT_EQ(*BuildArguments(Schema({{"count", {{"type", "integer"}, {"maximum", 3}}}}, {"count"}), v),
            Json({{"count", 3}}));
  EXPECT_EQ(*BuildArguments(Schema({{"k", {{"type", "integer"}}}}, {"k"}), v), Json({{"k", 5}}));
  EXPECT_EQ(*BuildArguments(Schema({{"keywords", {{"type", "array"}}}}, {"keywords"}), v),
            Json({{"keywords", {"rust", "async"}}}));
  EXPECT_EQ(*BuildArguments(Schema({{"q", {{"type", "string"}}},
                                    {"start_date", {{"type", "string"}, {"format", "date-time"}}}},
                                   {"q"}),
                            v),
            Json({{"q", "rust async"}, {"start_date", "2026-05-08T00:00:00Z"}}));
  EXPECT_EQ(*BuildArguments(Schema({{"mode", {{"type", "string"}, {"default", "fast"}}}}, {"mode"}), v),
            Json({{"mode", "fast"}}));
  EXPECT_EQ(*BuildArguments(Json::object(), v), Json::object());
  // An email's `to` is not a date; an unknown required property blocks the call.
  EXPECT_FALSE(BuildArguments(Schema({{"to", {{"type", "string"}}}}, {"to"}), v).has_value());
  EXPECT_FALSE(BuildArguments(Schema({{"path", {{"type", "string"}}}}, {"path"}), v).has_value());
  EXPECT_FALSE(BuildArguments(Schema({{"query", {{"type", "string"}, {"enum", {"a", "b"}}}}}, {"query"}), v));
  EXPECT_FALSE(BuildArguments(Schema(Json::object(), {"anything"}), v).has_value());
}

// ---- Time ranges ------------------------------------------------------------------------------

struct RangeCase {
  std::string text;
  std::string since;  // "" = open
  std::string until;
};

class TimeRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(TimeRange, IsReadRelativeToToday) {
  const auto& c = GetParam();
  const auto r = detail::ParseTimeRange(detail::Normalize(c.text), kToday);
  EXPECT_EQ(r.since ? detail::IsoDate(*r.since) : "", c.since) << c.text;
  EXPECT_EQ(r.until ? detail::IsoDate(*r.until) : "", c.until) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    OfflineRules, TimeRange,
    ::testing::Values(RangeCase{"what did we say yesterday", "2026-05-14", "2026-05-14"},
                      RangeCase{"the day before yesterday", "2026-05-13", "2026-05-13"},
                      RangeCase{"anything today?", "2026-05-15", "2026-05-15"},
                      RangeCase{"last week", "2026-05-08", "2026-05-15"},
                      RangeCase{"in the past 2 weeks", "2026-05-01", "2026-05-15"},
                      RangeCase{"last month", "2026-04-15", "2026-05-15"},
                      RangeCase{"the last three days", "2026-05-12", "2026-05-15"},
                      RangeCase{"3 days ago", "2026-05-12", "2026-05-12"},
                      RangeCase{"a couple of days ago", "2026-05-13", "2026-05-13"},
                      RangeCase{"this week", "2026-05-11", "2026-05-15"},
                      RangeCase{"this month", "2026-05-01", "2026-05-15"},
                      RangeCase{"on Monday", "2026-05-11", "2026-05-11"},
                      RangeCase{"last friday", "2026-05-08", "2026-05-08"},
                      RangeCase{"in April", "2026-04-01", "2026-04-30"},
                      RangeCase{"in June", "2025-06-01", "2025-06-30"},
                      RangeCase{"march 2024", "2024-03-01", "2024-03-31"},
                      RangeCase{"on 2026-05-01", "2026-05-01", "2026-05-01"},
                      RangeCase{"since 2026-05-01", "2026-05-01", ""},
                      RangeCase{"before 2026-05-01", "", "2026-04-30"},
                      RangeCase{"between 2026-04-10 and 2026-04-01", "2026-04-01", "2026-04-10"},
                      RangeCase{"on 2026-02-30", "", ""},
                      RangeCase{"you may know", "", ""},
                      RangeCase{"nothing about time", "", ""}));

// ---- Extractive answers -----------------------------------------------------------------------

TEST(OfflineProvider, AnswersFromToolResultsWithCitations) {
  const Json web = Json({{"results",
                          {{{"title", "Australia facts"},
                            {"url", "https://example.org/au"},
                            {"snippet", "Canberra is the capital of Australia. Sydney is its largest city."}},
                           {{"title", "Cooking"}, {"url", "https://example.org/cook"}, {"snippet", "Pasta needs salt."}}}}});
  const ChatResult r = Answer(AfterTools("What is the capital of Australia?",
                                      {{"memory.search", "[]"}, {"web.search", web.dump()}}));
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_THAT(r.content, AllOf(HasSubstr("- Canberra is the capital of Australia. [1]"), HasSubstr("Sources:"),
                               HasSubstr("[1] Australia facts — https://example.org/au (web.search)"),
                               Not(HasSubstr("Pasta")), HasSubstr("memory.search (no results)"),
                               HasSubstr(std::string(OfflineProvider::kHonestyLine))));
}

TEST(OfflineProvider, CitesPlainTextResultsByToolName) {
  const ChatResult r = Answer(AfterTools("What does the todo file say about groceries?",
                                      {{"fs.read_text_file", "Call mum.\nBuy groceries: eggs, milk.\nFix bike."}}));
  EXPECT_THAT(r.content, AllOf(HasSubstr("- Buy groceries: eggs, milk. [1]"), HasSubstr("[1] fs.read_text_file"),
                               Not(HasSubstr("Fix bike"))));
}

TEST(OfflineProvider, NumbersDistinctSourcesInCitationOrder) {
  const Json memory = Json::array({{{"title", "Trip notes"}, {"path", "notes/trip.md"}, {"content", "The Lisbon trip is in June."}},
                                   {{"session_id", "s-42"}, {"content", "We booked the Lisbon hotel near Alfama."}}});
  const ChatResult r = Answer(AfterTools("When is the Lisbon trip?", {{"memory.search", memory.dump()}}));
  EXPECT_THAT(r.content, AllOf(HasSubstr("The Lisbon trip is in June. [1]"), HasSubstr("Alfama. [2]"),
                               HasSubstr("[1] Trip notes — notes/trip.md (memory.search)"),
                               HasSubstr("[2] conversation s-42 (memory.search)")));
}

TEST(OfflineProvider, SaysPlainlyWhenAllToolsFailedOrFoundNothing) {
  const ChatResult r = Answer(AfterTools("Search for quantum gardening",
                                      {{"memory.search", "[]"}, {"web.search", "Error: network unreachable"}}));
  EXPECT_THAT(r.content, AllOf(HasSubstr("I found nothing about \"quantum gardening\""),
                               HasSubstr("memory.search (no results)"),
                               HasSubstr("web.search (failed: Error: network unreachable)"),
                               HasSubstr(std::string(OfflineProvider::kHonestyLine))));
}

TEST(OfflineProvider, JsonErrorResultsCountAsFailures) {
  const ChatResult r = Answer(AfterTools(
      "Search for x", {{"memory.search", "[]"}, {"web.search", R"({"error": {"message": "quota exceeded"}})"}}));
  EXPECT_THAT(r.content, AllOf(HasSubstr("web.search (failed: quota exceeded)"), Not(HasSubstr("used fallback"))));
}

// ---- Fallback: web down -> local documents --------------------------------------------------------

// The user's question, then one assistant step per entry: its calls (name, arguments) and their
// results, ids numbered across the conversation.
ChatRequest Steps(const std::string& question,
                  const std::vector<std::vector<std::tuple<std::string, Json, Json>>>& steps,
                  Json tools = StandardTools()) {
  ChatRequest r = Ask(question, std::move(tools));
  int id = 0;
  for (const auto& step : steps) {
    Json calls = Json::array();
    const int first = id;
    for (const auto& [name, args, result] : step) {
      calls.push_back({{"id", "call_" + std::to_string(++id)},
                       {"type", "function"},
                       {"function", {{"name", name}, {"arguments", args.dump()}}}});
    }
    r.messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}});
    int n = first;
    for (const auto& [name, args, result] : step) {
      r.messages.push_back({{"role", "tool"}, {"tool_call_id", "call_" + std::to_string(++n)}, {"content", result}});
    }
  }
  return r;
}

const Json kWebDown = "unavailable: cannot resolve searx.example (no network, or the name does not exist)\n\n"
                      "Fix the errors and try again.";

TEST(OfflineProvider, SearchesLocalDocumentsWithTheSameQueryWhenTheWebFails) {
  const ChatResult r = Answer(Steps("Search the web for quantum gardening",
                                    {{{"web.search", {{"query", "quantum gardening"}}, kWebDown}}}));
  EXPECT_EQ(r.finish_reason, "tool_calls");
  const auto calls = Calls(r);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "memory.search");
  EXPECT_EQ(calls[0].arguments["query"], "quantum gardening");
  EXPECT_EQ(r.tool_calls[0]["id"], "call_2");
}

TEST(OfflineProvider, FallsBackFromAFailedFetchWithTheQuestionsTopic) {
  const Json tools = Json::array({Tool("web_fetch", "Fetch a web page.", Schema({{"url", {{"type", "string"}}}}, {"url"})),
                                  Tool("memory_search", "Search saved notes and documents.",
                                       Schema({{"query", {{"type", "string"}}}}, {"query"}))});
  const ChatResult r = Answer(Steps("Fetch https://example.org/tips and summarize the postgres indexing tips",
                                    {{{"web_fetch", {{"url", "https://example.org/tips"}},
                                       "permission_denied: refused to connect to 10.0.0.1"}}},
                                    tools));
  const auto calls = Calls(r);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "memory_search");
  EXPECT_THAT(calls[0].arguments["query"].get<std::string>(), AllOf(HasSubstr("postgres"), Not(HasSubstr("http"))));
}

TEST(OfflineProvider, AnswerFromTheFallbackSaysSo) {
  const Json local = Json::array({{{"title", "Garden notes"}, {"content", "Quantum gardening means planting at random."}}});
  const ChatResult r = Answer(Steps("Search the web for quantum gardening",
                                    {{{"web.search", {{"query", "quantum gardening"}}, kWebDown}},
                                     {{"memory.search", {{"query", "quantum gardening"}}, local.dump()}}}));
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_THAT(r.content, AllOf(HasSubstr("Quantum gardening means planting at random. [1]"),
                               HasSubstr("web.search (failed: unavailable: cannot resolve searx.example"),
                               Not(HasSubstr("Fix the errors")),
                               HasSubstr("used fallback: local documents, because web.search failed")));
}

TEST(OfflineProvider, NoFallbackWithoutALocalSearchToolOrAfterOne) {
  const Json web_only = Json::array({Tool("web.search", "Search the web.", Schema({{"query", {{"type", "string"}}}}, {"query"}))});
  const ChatResult alone = Answer(Steps("Search for quantum gardening",
                                        {{{"web.search", {{"query", "quantum gardening"}}, kWebDown}}}, web_only));
  EXPECT_EQ(alone.finish_reason, "stop");
  EXPECT_THAT(alone.content, AllOf(HasSubstr("I found nothing"), Not(HasSubstr("used fallback"))));

  // Memory was searched alongside the web: nothing new to fall back to, and no fallback claimed.
  const ChatResult parallel = Answer(Steps("Search for quantum gardening",
                                           {{{"memory.search", {{"query", "quantum gardening"}}, "[]"},
                                             {"web.search", {{"query", "quantum gardening"}}, kWebDown}}}));
  EXPECT_EQ(parallel.finish_reason, "stop");
  EXPECT_THAT(parallel.content, Not(HasSubstr("used fallback")));
}

TEST(OfflineProvider, ConfirmsARememberedFact) {
  const ChatResult r = Answer(AfterTools("Remember that the wifi password is hunter2",
                                      {{"memory.remember", R"({"id": "m-1", "status": "stored"})"}}));
  EXPECT_THAT(r.content, HasSubstr("I saved this to memory with memory.remember: \"the wifi password is hunter2\""));
}

TEST(OfflineProvider, CapabilityAnswerListsTheOfferedTools) {
  const ChatResult r = Answer(Ask("What can you do?"));
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_THAT(r.content, AllOf(HasSubstr("not"), HasSubstr("- memory.search: Search saved notes and documents."),
                               HasSubstr("- web.search: Search the web."), HasSubstr("- hn.top"),
                               HasSubstr(std::string(OfflineProvider::kHonestyLine))));
}

TEST(OfflineProvider, CapabilityAnswerWithoutToolsSaysItOnlyChats) {
  const ChatResult r = Answer(Ask("Who are you?", Json::array()));
  EXPECT_THAT(r.content, AllOf(HasSubstr("I can chat, but I have no tools"), Not(HasSubstr("Tools I can use"))));
}

TEST(OfflineProvider, AnswersFromEarlierInTheConversation) {
  ChatRequest request = Ask("What is my dog called?", Json::array());
  request.messages = Json::array({{{"role", "user"}, {"content", "My dog is called Rex. He likes long walks."}},
                                  {{"role", "assistant"}, {"content", "Noted."}},
                                  {{"role", "user"}, {"content", "What is my dog called?"}}});
  const ChatResult r = Answer(request);
  EXPECT_THAT(r.content, AllOf(HasSubstr("Earlier in this conversation:"), HasSubstr("- My dog is called Rex. [1]"),
                               HasSubstr("[1] earlier in this conversation (your message 1)")));
}

TEST(OfflineProvider, SaysItCannotAnswerWithoutAnLlmOrTools) {
  const ChatResult r = Answer(Ask("What is the meaning of life?", Json::array()));
  EXPECT_THAT(r.content, AllOf(HasSubstr("I can't answer that"), HasSubstr("no tools"),
                               HasSubstr(std::string(OfflineProvider::kHonestyLine))));
}

TEST(OfflineProvider, NamesTheOfferedToolsWhenNoneMatches) {
  const Json tools = Json::array({Tool("calendar.add", "Add an event.", Schema({{"when", {{"type", "string"}}}}, {"when"}))});
  const ChatResult r = Answer(Ask("Sing me a song", tools));
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_THAT(r.content, HasSubstr("none of the tools offered here (calendar.add)"));
}

class HonestyLine : public ::testing::TestWithParam<std::string> {};

TEST_P(HonestyLine, EndsEveryFinalAnswer) {
  const ChatResult r = Answer(Ask(GetParam()));
  ASSERT_EQ(r.finish_reason, "stop");
  EXPECT_TRUE(r.content.ends_with(OfflineProvider::kHonestyLine)) << r.content;
}

INSTANTIATE_TEST_SUITE_P(OfflineProvider, HonestyLine,
                         ::testing::Values("hello", "What can you do?", "Sing me a song", "search", ""));

// ---- Streaming, determinism, cancellation, usage --------------------------------------------

TEST(OfflineProvider, StreamsTheAnswerInChunksOfAFewWords) {
  std::vector<ChatChunk> chunks;
  const ChatResult r = Answer(Ask("What can you do?"), &chunks);
  ASSERT_GT(chunks.size(), 5u);
  std::string joined;
  for (const auto& c : chunks) {
    joined += c.content;
    size_t words = 0;
    for (size_t i = 0; i < c.content.size(); ++i) {
      const bool start = c.content[i] != ' ' && c.content[i] != '\n' &&
                         (i == 0 || c.content[i - 1] == ' ' || c.content[i - 1] == '\n');
      words += start ? 1 : 0;
    }
    EXPECT_LE(words, OfflineProvider::kWordsPerChunk);
  }
  EXPECT_EQ(joined, r.content);
  EXPECT_EQ(chunks.back().finish_reason, "stop");
}

TEST(OfflineProvider, SameInputGivesSameOutput) {
  const ChatRequest request = AfterTools("What is the capital of Australia?",
                                         {{"web.search", R"([{"title": "A", "snippet": "Canberra is the capital."}])"}});
  std::vector<ChatChunk> a;
  std::vector<ChatChunk> b;
  const ChatResult ra = Answer(request, &a);
  const ChatResult rb = Answer(request, &b);
  EXPECT_EQ(ra.content, rb.content);
  EXPECT_EQ(ra.usage.prompt_tokens, rb.usage.prompt_tokens);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].content, b[i].content);
  EXPECT_EQ(Answer(Ask("Search for rust")).tool_calls, Answer(Ask("Search for rust")).tool_calls);
}

TEST(OfflineProvider, StopsWhenTheSinkReturnsFalse) {
  OfflineProvider provider = MakeProvider();
  for (const std::string text : {"What can you do?", "Search for rust async runtimes"}) {
    int calls = 0;
    auto r = provider.Complete(Ask(text), [&](const ChatChunk&) { return ++calls < 2; });
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
    EXPECT_EQ(calls, 2);
  }
}

TEST(OfflineProvider, WorksWithoutASink) {
  OfflineProvider provider = MakeProvider();
  auto r = provider.Complete(Ask("hello"), ChunkSink());
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->content, HasSubstr(std::string(OfflineProvider::kHonestyLine)));
}

TEST(OfflineProvider, CountsTokensAsBytesOverFour) {
  ChatRequest request = Ask("abcd efgh", Json::array());
  request.messages = Json::array({{{"role", "user"}, {"content", "abcd efgh"}}});  // 9 bytes
  const ChatResult r = Answer(request);
  EXPECT_EQ(r.usage.prompt_tokens, 3);
  EXPECT_EQ(r.usage.completion_tokens, static_cast<int64_t>((r.content.size() + 3) / 4));
  EXPECT_GT(Answer(Ask("abcd efgh")).usage.prompt_tokens, 3);  // tools and the system prompt count too
}

TEST(OfflineProvider, ReportsItsKind) { EXPECT_EQ(MakeProvider().kind(), "offline"); }

// ---- Building blocks ----------------------------------------------------------------------

TEST(OfflineExtract, ReadsToolResultShapes) {
  using State = detail::ToolOutcome::State;
  EXPECT_EQ(detail::ReadToolResult("t", "").state, State::kEmpty);
  EXPECT_EQ(detail::ReadToolResult("t", "No results found.").state, State::kEmpty);
  EXPECT_EQ(detail::ReadToolResult("t", R"({"results": []})").state, State::kEmpty);
  EXPECT_EQ(detail::ReadToolResult("t", R"({"isError": true, "content": "boom"})").state, State::kError);
  const auto parts = detail::ReadToolResult("t", Json::array({{{"type", "text"}, {"text", "Hello there."}}}));
  ASSERT_EQ(parts.state, State::kResults);
  EXPECT_EQ(parts.items[0].text, "Hello there.");
  const auto hn = detail::ReadToolResult("hn.top", R"({"stories": [{"title": "Show HN: X", "url": "https://x.dev"}]})");
  ASSERT_EQ(hn.items.size(), 1u);
  EXPECT_EQ(hn.items[0].source, "Show HN: X — https://x.dev (hn.top)");
}

TEST(OfflineText, TopicWordsDropCommandsDatesAndPaths) {
  const auto text = detail::Normalize("Please  search my notes/ideas.md for the “garden” plan from last week");
  const auto path = detail::FindPath(text);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->value, "notes/ideas.md");
  auto consumed = detail::ParseTimeRange(text, kToday).spans;
  consumed.push_back(path->span);
  EXPECT_EQ(detail::TopicWords(text, consumed), (std::vector<std::string>{"garden", "plan"}));
  EXPECT_EQ(detail::FindUrl(detail::Normalize("see (https://a.b/c).")).value().value, "https://a.b/c");
}

}  // namespace
}  // namespace steward::models
