// MemoryIndex on a real PostgreSQL (hnswlib vector backend: the test server has no pgvector),
// with a deterministic hashing embedder. The labelled-set comparison with the real model is in
// hybrid_search_pgtest.cpp.

#include "memory/memory_index.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <pqxx/pqxx>

#include "memory/memory_tool_provider.hpp"
#include "memory/testing/hashing_embedder.hpp"
#include "store/testing/migrated_database_suite.hpp"

namespace steward::memory {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class MemoryIndexTest : public steward::testing::MigratedDatabaseSuite<> {
 protected:

  void SetUp() override {
    ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
                     tx.exec("TRUNCATE memory_item, memory_chunk, memory_link, memory_access_log, embedding_model "
                             "RESTART IDENTITY CASCADE");
                   }).ok());
    embedder_ = std::make_shared<fakes::HashingEmbedder>();
    Open();
  }

  void Open(MemoryIndexOptions options = Options()) {
    index_.reset();
    auto index = MemoryIndex::Open(*db_, embedder_, options);
    ASSERT_TRUE(index.ok()) << index.error().ToString();
    index_ = std::move(*index);
  }

  static MemoryIndexOptions Options() {
    MemoryIndexOptions o;
    o.vector_backend = "hnswlib";
    o.reembed_idle = milliseconds(50);
    return o;
  }

  static ItemInput Item(std::string title, std::string content, std::string source = "",
                        std::string created_at = "", std::string type = "document") {
    ItemInput item;
    item.type = std::move(type);
    item.title = std::move(title);
    item.content = std::move(content);
    item.source = std::move(source);
    item.created_at = std::move(created_at);
    return item;
  }

  int64_t AddOk(const ItemInput& item) {
    auto added = index_->Add(item);
    EXPECT_TRUE(added.ok()) << added.error().ToString();
    return added.ok() ? added->id : 0;
  }

  std::vector<int64_t> Ids(const SearchRequest& request) {
    auto found = index_->Search(request);
    EXPECT_TRUE(found.ok()) << found.error().ToString();
    std::vector<int64_t> ids;
    if (found.ok()) {
      for (const auto& h : found->hits) ids.push_back(h.item_id);
    }
    return ids;
  }

  std::vector<int64_t> Ids(const std::string& query) {
    SearchRequest r;
    r.query = query;
    return Ids(r);
  }

  std::shared_ptr<fakes::HashingEmbedder> embedder_;
  std::unique_ptr<MemoryIndex> index_;
};

TEST_F(MemoryIndexTest, AnAddedItemIsSearchableByWordsAndVectorWithinFiveSeconds) {
  const auto t0 = std::chrono::steady_clock::now();
  auto added = index_->Add(Item("Boat maintenance", "Replace the impeller of the outboard motor every spring."));
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(added->outcome, IndexOutcome::kAdded);
  EXPECT_EQ(added->chunks, 1);
  EXPECT_EQ(added->embedded, 1);
  // Searchable as soon as Add returns (measured: the whole thing must be far inside 5 s).
  SearchRequest r;
  r.query = "outboard impeller";
  auto found = index_->Search(r);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->hits[0].item_id, added->id);
  EXPECT_EQ(found->hits[0].title, "Boat maintenance");
  EXPECT_TRUE(found->hits[0].text_rank.has_value());
  EXPECT_TRUE(found->hits[0].vector_rank.has_value());
  EXPECT_LT(ms, 5000.0);
  RecordProperty("index_to_searchable_ms", std::to_string(ms));
  EXPECT_EQ(found->plan["intent"], "similar");
  EXPECT_EQ(index_->Stats().ann_size, 1);
}

TEST_F(MemoryIndexTest, LongDocumentsAreChunkedWithOverlapAndTheMatchingChunkIsCited) {
  std::string content;
  for (int i = 0; i < 60; ++i) content += "Filler sentence number " + std::to_string(i) + " about nothing much. ";
  content += "The secret ingredient is smoked paprika. ";
  for (int i = 60; i < 120; ++i) content += "Filler sentence number " + std::to_string(i) + " about nothing much. ";
  auto added = index_->Add(Item("Recipes", content));
  ASSERT_TRUE(added.ok());
  EXPECT_GT(added->chunks, 3);
  SearchRequest r;
  r.query = "smoked paprika";
  auto found = index_->Search(r);
  ASSERT_TRUE(found.ok());
  ASSERT_FALSE(found->hits.empty());
  EXPECT_NE(found->hits[0].excerpt.find("smoked paprika"), std::string::npos) << found->hits[0].excerpt;
}

TEST_F(MemoryIndexTest, UpsertSkipsUnchangedVersionsChangedAndAsOfSeesTheOldText) {
  ItemInput v1 = Item("Plan", "The launch is planned for March.", "/docs/plan.md");
  v1.content_hash = "hash-1";
  auto first = index_->Upsert(v1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->outcome, IndexOutcome::kAdded);
  const int64_t embedded = embedder_->embedded();

  auto again = index_->Upsert(v1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, IndexOutcome::kUnchanged);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(embedder_->embedded(), embedded);  // nothing embedded for an unchanged source

  std::this_thread::sleep_for(milliseconds(20));
  std::string between;
  ASSERT_TRUE(db_->Read([&](pqxx::read_transaction& tx) {
                   between = tx.exec1("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")[0]
                                 .as<std::string>();
                 }).ok());
  std::this_thread::sleep_for(milliseconds(20));
  ItemInput v2 = Item("Plan", "The launch moved to September.", "/docs/plan.md");
  v2.content_hash = "hash-2";
  auto second = index_->Upsert(v2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->outcome, IndexOutcome::kReplaced);
  EXPECT_NE(second->id, first->id);

  EXPECT_EQ(Ids("launch"), std::vector<int64_t>{second->id});
  SearchRequest as_of;
  as_of.query = "launch";
  as_of.as_of = between;
  EXPECT_EQ(Ids(as_of), std::vector<int64_t>{first->id});
  as_of.as_of.clear();
  as_of.include_expired = true;
  EXPECT_EQ(Ids(as_of).size(), 2u);

  auto listed = index_->ListSources("/docs/");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].content_hash, "hash-2");
  auto link = db_->Read([&](pqxx::read_transaction& tx) {
    return tx.exec_params("SELECT 1 FROM memory_link WHERE from_id = $1 AND to_id = $2 AND relation = 'supersedes'",
                          second->id, first->id)
        .size();
  });
  EXPECT_EQ(*link, 1u);
}

TEST_F(MemoryIndexTest, UpsertBatchEmbedsInSharedBatchesAndReportsBadItemsAlone) {
  std::vector<ItemInput> items;
  for (int i = 0; i < 5; ++i) items.push_back(Item("Doc " + std::to_string(i), "content number " + std::to_string(i), "/b/" + std::to_string(i)));
  items.push_back(Item("Bad", std::string("bad \xff\xfe bytes"), "/b/bad"));
  const int calls_before = embedder_->calls();
  auto results = index_->UpsertBatch(items);
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(results[i].ok()) << i;
  ASSERT_FALSE(results[5].ok());
  EXPECT_EQ(results[5].error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(results[5].error().message.find("UTF-8"), std::string::npos);
  EXPECT_EQ(embedder_->calls() - calls_before, 1);  // five items, one embedding call
}

TEST_F(MemoryIndexTest, RetiredSourcesLeaveSearchButStayVisibleAsOfBefore) {
  const int64_t id = AddOk(Item("Old policy", "Expenses need two signatures.", "/policy.md", "2024-01-01T00:00:00Z"));
  auto retired = index_->RetireSource("/policy.md");
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(*retired, 1);
  EXPECT_TRUE(Ids("signatures").empty());
  SearchRequest r;
  r.query = "signatures";
  r.as_of = "2024-06-01T00:00:00Z";
  EXPECT_EQ(Ids(r), std::vector<int64_t>{id});
}

TEST_F(MemoryIndexTest, DateQueriesFindItemsByCreationTimeOrMetadataDate) {
  const int64_t may3 = AddOk(Item("Dentist", "Dentist appointment, filling replaced.", "", "2024-05-03T15:00:00Z", "note"));
  AddOk(Item("Groceries", "Bought apples and flour.", "", "2024-05-04T09:00:00Z", "note"));
  ItemInput event = Item("Concert", "Concert at the old theatre.", "", "2024-06-01T00:00:00Z", "event");
  event.metadata = {{"date", "2024-05-03"}};
  const int64_t concert = AddOk(event);

  SearchRequest r;
  r.query = "what happened on 2024-05-03";
  auto found = index_->Search(r);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  std::vector<int64_t> ids;
  for (const auto& h : found->hits) ids.push_back(h.item_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{concert, may3}));  // newest created first
  EXPECT_EQ(found->plan["intent"], "on_date");

  SearchRequest ranged;
  ranged.created_from = "2024-05-04T00:00:00Z";
  ranged.created_to = "2024-05-05T00:00:00Z";
  EXPECT_EQ(Ids(ranged).size(), 1u);

  SearchRequest by_meta;
  by_meta.query = "concert";
  by_meta.metadata_date_key = "date";
  by_meta.date_from = "2024-05-01";
  by_meta.date_to = "2024-05-31";
  EXPECT_EQ(Ids(by_meta), std::vector<int64_t>{concert});
}

TEST_F(MemoryIndexTest, ConversationRecallPrefersWhatWasSaidInConversations) {
  const int64_t said = AddOk(Item("Boat decision", "We decided to sell the old sailing boat in autumn.",
                                  "conversation:aaaaaaaa-0000-0000-0000-000000000001", "", "note"));
  AddOk(Item("Boat manual", "The sailing boat manual: rigging, sails, engine and selling checklist.", "/manuals/boat.pdf"));
  SearchRequest r;
  r.query = "what did we decide about the sailing boat";
  auto found = index_->Search(r);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_FALSE(found->hits.empty());
  EXPECT_EQ(found->hits[0].item_id, said);
  EXPECT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->plan["intent"], "conversation");
}

TEST_F(MemoryIndexTest, MetadataAndTypeFiltersNarrowTheResults) {
  ItemInput a = Item("Alpha report", "Quarterly report on the project.", "/r/a");
  a.metadata = {{"project", "apollo"}, {"author", "ann"}};
  ItemInput b = Item("Beta report", "Quarterly report on the project.", "/r/b");
  b.metadata = {{"project", "gemini"}};
  const int64_t ida = AddOk(a);
  const int64_t idb = AddOk(b);
  SearchRequest r;
  r.query = "quarterly report";
  r.metadata = {{"project", "apollo"}};
  EXPECT_EQ(Ids(r), std::vector<int64_t>{ida});
  EXPECT_EQ(Ids("report author:ann"), std::vector<int64_t>{ida});
  SearchRequest t;
  t.query = "quarterly report";
  t.types = {"note"};
  EXPECT_TRUE(Ids(t).empty());
  EXPECT_EQ(Ids("quarterly report").size(), 2u);
  (void)idb;
}

TEST_F(MemoryIndexTest, AnEmbedderOutageStoresItemsAndTheBackgroundEmbedsThemLater) {
  embedder_->set_failing(true);
  auto added = index_->Add(Item("Offline note", "Written while the embedder was down."));
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(added->embedded, 0);
  EXPECT_FALSE(Ids("embedder down").empty());  // full text works meanwhile
  EXPECT_GE(index_->Stats().chunks_pending, 1);
  embedder_->set_failing(false);
  ASSERT_TRUE(index_->WaitForEmbeddings(std::chrono::seconds(30)));
  EXPECT_EQ(index_->Stats().ann_size, 1);
  SearchRequest r;
  r.query = "embedder down written";
  r.mode = "vector";
  EXPECT_EQ(Ids(r), std::vector<int64_t>{added->id});
}

TEST_F(MemoryIndexTest, ChangingTheModelReembedsEverythingInTheBackground) {
  for (int i = 0; i < 40; ++i) AddOk(Item("Note " + std::to_string(i), "Text of note " + std::to_string(i)));
  embedder_ = std::make_shared<fakes::HashingEmbedder>("hashing-32", 32);
  Open();
  const MemoryIndexStats before = index_->Stats();
  EXPECT_EQ(before.model, "hashing-32");
  EXPECT_EQ(before.dimension, 32);
  ASSERT_TRUE(index_->WaitForEmbeddings(std::chrono::seconds(60)));
  EXPECT_EQ(embedder_->embedded(), 40);
  EXPECT_EQ(index_->Stats().ann_size, 40);
  auto current = db_->Read([](pqxx::read_transaction& tx) {
    return tx.exec1("SELECT count(*) FROM memory_chunk c JOIN embedding_model m ON m.id = c.embedding_model_id"
                    " WHERE m.name = 'hashing-32' AND m.is_current AND array_length(c.embedding, 1) = 32")[0]
        .as<int>();
  });
  EXPECT_EQ(*current, 40);
}

TEST_F(MemoryIndexTest, TheHnswlibIndexIsRebuiltFromPostgresAtOpen) {
  for (int i = 0; i < 25; ++i) AddOk(Item("Item " + std::to_string(i), "Body " + std::to_string(i)));
  Open();
  EXPECT_EQ(index_->Stats().ann_size, 25);
  EXPECT_EQ(index_->Stats().vector_backend, "hnswlib");
}

TEST_F(MemoryIndexTest, ItemsWrittenWithoutChunksAreChunkedAtOpen) {
  ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
                   tx.exec("INSERT INTO memory_item (type, title, content) VALUES ('note', 'Legacy', 'A legacy note about llamas.')");
                 }).ok());
  Open();
  EXPECT_FALSE(Ids("llamas").empty());
}

TEST_F(MemoryIndexTest, SearchesAndWritesAreAudited) {
  const int64_t id = AddOk(Item("Audit", "Audited content."));
  ASSERT_FALSE(Ids("audited").empty());
  auto rows = db_->Read([&](pqxx::read_transaction& tx) {
    const pqxx::row r = tx.exec_params1(
        "SELECT count(*) FILTER (WHERE action = 'write' AND item_id = $1),"
        " count(*) FILTER (WHERE action = 'search'), count(*) FILTER (WHERE action = 'read' AND item_id = $1)"
        " FROM memory_access_log",
        id);
    return std::make_tuple(r[0].as<int>(), r[1].as<int>(), r[2].as<int>());
  });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<0>(*rows), 1);
  EXPECT_EQ(std::get<1>(*rows), 1);
  EXPECT_EQ(std::get<2>(*rows), 1);
}

TEST_F(MemoryIndexTest, ExplainAddsSqlAndTimingsToThePlan) {
  AddOk(Item("Explained", "Plans are explained."));
  SearchRequest r;
  r.query = "explained";
  r.explain = true;
  auto found = index_->Search(r);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->plan.contains("sql"));
  EXPECT_FALSE(found->plan["sql"].empty());
  EXPECT_TRUE(found->plan["timings_ms"].contains("total_ms"));
}

TEST_F(MemoryIndexTest, WithoutAnEmbedderSearchIsFullTextOnly) {
  index_.reset();
  auto index = MemoryIndex::Open(*db_, nullptr, Options());
  ASSERT_TRUE(index.ok());
  index_ = std::move(*index);
  AddOk(Item("Words", "Only words here."));
  SearchRequest r;
  r.query = "words";
  auto found = index_->Search(r);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->plan["paths"].size(), 1u);
  EXPECT_EQ(index_->Stats().vector_backend, "none");
}

TEST_F(MemoryIndexTest, MemoryToolsRememberIntoTheIndexAndSearchWithCitationsAndPlan) {
  MemoryToolProvider tools(*db_, index_.get());
  tools::CallContext ctx;
  ctx.principal = "run";
  ctx.session_id = "aaaaaaaa-0000-0000-0000-000000000009";
  auto saved = tools.Call("remember", {{"content", "The spare house key is under the blue flowerpot."}}, ctx);
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  EXPECT_EQ(saved->structured["chunks"], 1);
  EXPECT_EQ(saved->structured["embedded"], true);
  auto found = tools.Call("search", {{"query", "where is the spare key"}}, ctx);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  const json& results = found->structured["results"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["id"], saved->structured["id"]);
  EXPECT_EQ(results[0]["title"], "The spare house key is under the blue flowerpot.");
  EXPECT_EQ(results[0]["source"], "conversation:aaaaaaaa-0000-0000-0000-000000000009");
  EXPECT_TRUE(found->structured["plan"].contains("intent"));
  const std::string text = found->content[0]["text"];
  EXPECT_NE(text.find("[" + std::to_string(results[0]["id"].get<int64_t>()) + "] The spare house key"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace steward::memory
