// The ingestion pipeline against a real PostgreSQL and the real MemoryIndex (hnswlib backend,
// deterministic hashing embedder): generated documents, good and bad, end up searchable or
// reported; re-runs are incremental.

#include "memory/ingest/ingester.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "memory/ingest/crawler.hpp"
#include "memory/ingest/testing/document_builders.hpp"
#include "memory/ingest/testing/temp_dir.hpp"
#include "memory/testing/hashing_embedder.hpp"
#include "store/testing/migrated_database_suite.hpp"

namespace steward::memory::ingest {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

// A sink that fails for chosen sources and forwards the rest to the real index.
class FlakySink final : public DocumentSink {
 public:
  explicit FlakySink(DocumentSink& inner) : inner_(inner) {}
  std::vector<Result<IndexedItem>> UpsertBatch(const std::vector<ItemInput>& items, const AccessContext& ctx) override {
    std::vector<ItemInput> passed;
    std::vector<size_t> where;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].source.find(fail_substring_) == std::string::npos || fail_substring_.empty()) {
        where.push_back(i);
        passed.push_back(items[i]);
      }
    }
    std::vector<Result<IndexedItem>> inner = inner_.UpsertBatch(passed, ctx);
    std::vector<Result<IndexedItem>> out(items.size(), Result<IndexedItem>(MakeError(ErrorCode::kUnavailable, "index down (test)")));
    for (size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(inner[k]);
    return out;
  }
  Result<int> RetireSource(const std::string& source, const AccessContext& ctx) override {
    return inner_.RetireSource(source, ctx);
  }
  std::string fail_substring_;

 private:
  DocumentSink& inner_;
};

class IngesterTest : public steward::testing::MigratedDatabaseSuite<> {
 protected:

  void SetUp() override {
    ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
                     tx.exec("TRUNCATE ingested_file, memory_item, memory_chunk, memory_link, memory_access_log, "
                             "embedding_model RESTART IDENTITY CASCADE");
                   }).ok());
    embedder_ = std::make_shared<fakes::HashingEmbedder>();
    MemoryIndexOptions options;
    options.vector_backend = "hnswlib";
    options.background_reembed = false;
    auto index = MemoryIndex::Open(*db_, embedder_, options);
    ASSERT_TRUE(index.ok()) << index.error().ToString();
    index_ = std::move(*index);
    sink_ = std::make_unique<MemoryIndexSink>(*index_);
    flaky_ = std::make_unique<FlakySink>(*sink_);
    IngestOptions ingest;
    ingest.max_text_bytes = 64 << 10;
    ingest.batch_items = 4;
    ingester_ = std::make_unique<Ingester>(*db_, *flaky_, ingest);
  }

  struct Run {
    IngestSummary summary;
    std::map<std::string, FileReport> files;  // by path relative to the temp dir
    std::vector<std::pair<int, int>> progress;
  };

  Run Ingest(std::vector<std::string> paths, bool recursive = true) {
    Run run;
    IngestObserver observer;
    observer.file = [&](const FileReport& r) { run.files[Rel(r.path)] = r; };
    observer.progress = [&](int done, int total, const std::string&) { run.progress.emplace_back(done, total); };
    IngestRequest request;
    request.paths = std::move(paths);
    request.recursive = recursive;
    auto summary = ingester_->Run(request, observer);
    EXPECT_TRUE(summary.ok()) << summary.error().ToString();
    if (summary.ok()) run.summary = *summary;
    return run;
  }

  std::string Rel(const std::string& path) const {
    return path.size() > dir_.path().size() ? path.substr(dir_.path().size() + 1) : path;
  }

  // Sources of the valid items whose text matches every word of `query` (the item's full-text
  // column; hybrid search itself is tested in memory_index_pgtest and end to end).
  std::vector<std::string> Search(const std::string& query) {
    auto found = db_->Read([&](pqxx::read_transaction& tx) {
      std::vector<std::string> sources;
      for (const auto& row : tx.exec_params("SELECT source FROM memory_item WHERE valid_to IS NULL"
                                            " AND search @@ plainto_tsquery('english', $1) ORDER BY source",
                                            query)) {
        sources.push_back(Rel(row[0].as<std::string>()));
      }
      return sources;
    });
    EXPECT_TRUE(found.ok()) << found.error().ToString();
    return found.ok() ? *found : std::vector<std::string>{};
  }

  void WriteGoodTree() {
    dir_.Write("notes/plan.md", "---\ntitle: Trip plan\nauthor: Ada\n---\n# Lisbon\nVisit the azulejo museum.\n");
    dir_.Write("notes/todo.txt", "Renew the passport before the kayak trip.\n");
    dir_.Write("web/page.html",
               "<html><head><title>Garden log</title><meta name=author content=Lin></head>"
               "<body><p>Planted heirloom tomatoes.</p><script>ignored()</script></body></html>");
    dir_.Write("data/expenses.csv", "item,amount\nbicycle,420\numbrella,18\n");
    dir_.Write("data/inventory.json", R"({"title": "Pantry", "shelves": [{"item": "saffron", "qty": 2}]})");
    dir_.Write("docs/report.pdf",
               testing::BuildPdf({{"Quarterly narwhal census"}, {"Second page about belugas"}}, "Census", "Marine Lab"));
    dir_.Write("docs/memo.docx",
               testing::BuildDocx({"Budget memo", "The marimba purchase is approved."}, "Memo", "Grace", "2024-02-03T04:05:06Z"));
  }

  testing::TempDir dir_;
  std::shared_ptr<fakes::HashingEmbedder> embedder_;
  std::unique_ptr<MemoryIndex> index_;
  std::unique_ptr<MemoryIndexSink> sink_;
  std::unique_ptr<FlakySink> flaky_;
  std::unique_ptr<Ingester> ingester_;
};

TEST_F(IngesterTest, EveryGoodFileIsSearchableAndEveryBadOneReportedWithoutStoppingTheBatch) {
  WriteGoodTree();
  dir_.Write("bad/empty.txt", "");
  dir_.Write("bad/corrupt.pdf", "%PDF-1.4\n" + std::string(2000, '\x07') + "\n%%EOF");
  dir_.Write("bad/huge-line.txt", "zeppelin " + std::string(3u << 20, 'z'));  // 3 MiB, no newline
  dir_.Write("bad/latin1.txt", "Cr\xE8me br\xFBl\xE9\x65 for the fondue party");
  ASSERT_EQ(symlink("/nonexistent/target.md", (dir_.path() + "/bad/broken.md").c_str()), 0);
  ASSERT_EQ(mkfifo((dir_.path() + "/bad/pipe.txt").c_str(), 0600), 0);
  dir_.Write("bad/photo.png", "\x89PNG");

  const Run run = Ingest({dir_.path()});

  for (const char* good : {"notes/plan.md", "notes/todo.txt", "web/page.html", "data/expenses.csv",
                           "data/inventory.json", "docs/report.pdf", "docs/memo.docx", "bad/latin1.txt",
                           "bad/huge-line.txt"}) {
    ASSERT_TRUE(run.files.count(good)) << good;
    EXPECT_EQ(run.files.at(good).status, FileStatus::kAdded) << good << ": " << run.files.at(good).error;
    EXPECT_GT(run.files.at(good).item_id, 0) << good;
  }
  EXPECT_EQ(run.files.at("bad/empty.txt").status, FileStatus::kSkipped);
  EXPECT_THAT(run.files.at("bad/empty.txt").error, HasSubstr("empty"));
  EXPECT_EQ(run.files.at("bad/corrupt.pdf").status, FileStatus::kFailed);
  EXPECT_THAT(run.files.at("bad/corrupt.pdf").error, HasSubstr("PDF"));
  EXPECT_EQ(run.files.at("bad/broken.md").status, FileStatus::kFailed);
  EXPECT_THAT(run.files.at("bad/broken.md").error, HasSubstr("broken symbolic link"));
  EXPECT_EQ(run.files.at("bad/pipe.txt").status, FileStatus::kFailed);
  EXPECT_THAT(run.files.at("bad/pipe.txt").error, HasSubstr("FIFO"));
  EXPECT_EQ(run.files.count("bad/photo.png"), 0u);  // unsupported types in a folder are ignored, not failed
  EXPECT_THAT(run.files.at("bad/huge-line.txt").notes, ::testing::Contains(HasSubstr("truncated")));
  EXPECT_THAT(run.files.at("bad/latin1.txt").notes, ::testing::Contains(HasSubstr("Windows-1252")));

  EXPECT_EQ(run.summary.added, 9);
  EXPECT_EQ(run.summary.failed, 3);
  EXPECT_EQ(run.summary.skipped, 1);
  EXPECT_EQ(run.summary.total, 13);
  EXPECT_GT(run.summary.embedded, 0);
  ASSERT_FALSE(run.progress.empty());
  EXPECT_EQ(run.progress.back(), std::make_pair(13, 13));

  EXPECT_THAT(Search("azulejo"), ::testing::ElementsAre("notes/plan.md"));
  EXPECT_THAT(Search("kayak"), ::testing::ElementsAre("notes/todo.txt"));
  EXPECT_THAT(Search("heirloom tomatoes"), ::testing::ElementsAre("web/page.html"));
  EXPECT_THAT(Search("ignored"), ::testing::IsEmpty());
  EXPECT_THAT(Search("umbrella"), ::testing::ElementsAre("data/expenses.csv"));
  EXPECT_THAT(Search("saffron"), ::testing::ElementsAre("data/inventory.json"));
  EXPECT_THAT(Search("narwhal"), ::testing::ElementsAre("docs/report.pdf"));
  EXPECT_THAT(Search("belugas"), ::testing::ElementsAre("docs/report.pdf"));
  EXPECT_THAT(Search("marimba"), ::testing::ElementsAre("docs/memo.docx"));
  EXPECT_THAT(Search("fondue"), ::testing::ElementsAre("bad/latin1.txt"));
  EXPECT_THAT(Search("zeppelin"), ::testing::ElementsAre("bad/huge-line.txt"));

  // Metadata on the item: title, author, dates, path, size, mime, hash.
  const auto meta = db_->Read([&](pqxx::read_transaction& tx) {
    const auto r = tx.exec_params1("SELECT title, metadata::text, created_at::date::text FROM memory_item WHERE source = $1",
                                   dir_.path() + "/docs/memo.docx");
    return std::make_tuple(r[0].as<std::string>(), nlohmann::json::parse(r[1].as<std::string>()), r[2].as<std::string>());
  });
  ASSERT_TRUE(meta.ok()) << meta.error().ToString();
  const auto& [title, metadata, created] = *meta;
  EXPECT_EQ(title, "Memo");
  EXPECT_EQ(metadata.value("author", ""), "Grace");
  EXPECT_EQ(metadata.value("mime", ""), "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(metadata.value("content_hash", "").size(), 64u);
  EXPECT_EQ(metadata.value("path", ""), dir_.path() + "/docs/memo.docx");
  EXPECT_GT(metadata.value("size", 0), 0);
  EXPECT_EQ(created, "2024-02-03");
}

TEST_F(IngesterTest, ReingestingAnUnchangedTreeEmbedsNothing) {
  WriteGoodTree();
  const Run first = Ingest({dir_.path()});
  EXPECT_EQ(first.summary.added, 7);
  const int64_t embedded_before = embedder_->embedded();
  ASSERT_GT(embedded_before, 0);

  const Run second = Ingest({dir_.path()});
  EXPECT_EQ(second.summary.unchanged, 7);
  EXPECT_EQ(second.summary.added + second.summary.updated, 0);
  EXPECT_EQ(second.summary.embedded, 0);
  EXPECT_EQ(embedder_->embedded(), embedded_before);
  for (const auto& [path, report] : second.files) {
    EXPECT_EQ(report.item_id, first.files.at(path).item_id) << path;
  }
}

TEST_F(IngesterTest, AChangedFileIsReindexedAndADeletedOneMarkedNotRemoved) {
  WriteGoodTree();
  const Run first = Ingest({dir_.path()});
  dir_.Write("notes/todo.txt", "Buy a harmonica instead.\n");
  std::filesystem::remove(dir_.path() + "/docs/report.pdf");

  const Run second = Ingest({dir_.path()});
  EXPECT_EQ(second.files.at("notes/todo.txt").status, FileStatus::kUpdated);
  // The index keeps history: the new text is a new version, the old one is retired (as-of search).
  EXPECT_NE(second.files.at("notes/todo.txt").item_id, first.files.at("notes/todo.txt").item_id);
  EXPECT_EQ(second.files.at("docs/report.pdf").status, FileStatus::kDeleted);
  EXPECT_EQ(second.summary.unchanged, 5);
  EXPECT_EQ(second.summary.total, 7);
  EXPECT_THAT(Search("harmonica"), ::testing::ElementsAre("notes/todo.txt"));
  EXPECT_THAT(Search("kayak"), ::testing::IsEmpty());
  EXPECT_THAT(Search("narwhal"), ::testing::IsEmpty());

  const auto rows = db_->Read([&](pqxx::read_transaction& tx) {
    const auto item = tx.exec_params1("SELECT valid_to IS NOT NULL FROM memory_item WHERE id = $1",
                                      first.files.at("docs/report.pdf").item_id);
    const auto ledger = tx.exec_params1("SELECT status, deleted_at IS NOT NULL FROM ingested_file WHERE path = $1",
                                        dir_.path() + "/docs/report.pdf");
    return std::make_tuple(item[0].as<bool>(), ledger[0].as<std::string>(), ledger[1].as<bool>());
  });
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  EXPECT_TRUE(std::get<0>(*rows)) << "the item is kept with valid_to set";
  EXPECT_EQ(std::get<1>(*rows), "deleted");
  EXPECT_TRUE(std::get<2>(*rows));

  // Deleted once is reported once.
  const Run third = Ingest({dir_.path()});
  EXPECT_EQ(third.summary.deleted, 0);
  EXPECT_EQ(third.summary.unchanged, 6);

  // A file that comes back is a new item.
  dir_.Write("docs/report.pdf", testing::BuildPdf({{"Narwhal census, revised"}}));
  const Run fourth = Ingest({dir_.path()});
  EXPECT_EQ(fourth.files.at("docs/report.pdf").status, FileStatus::kAdded);
  EXPECT_THAT(Search("narwhal"), ::testing::ElementsAre("docs/report.pdf"));
}

TEST_F(IngesterTest, AVanishedFolderIsReportedButRetiresNothing) {
  WriteGoodTree();
  Ingest({dir_.path() + "/notes"});
  std::filesystem::remove_all(dir_.path() + "/notes");
  const Run run = Ingest({dir_.path() + "/notes"});
  EXPECT_EQ(run.summary.failed, 1);
  EXPECT_THAT(run.files.at("notes").error, HasSubstr("no such file"));
  EXPECT_THAT(Search("azulejo"), ::testing::ElementsAre("notes/plan.md"));
}

TEST_F(IngesterTest, ANamedFileThatVanishedIsMarkedDeleted) {
  const std::string file = dir_.Write("single.md", "# Solo\nOboe lessons on Tuesday.\n");
  EXPECT_EQ(Ingest({file}).summary.added, 1);
  std::filesystem::remove(file);
  const Run run = Ingest({file});
  EXPECT_EQ(run.files.at("single.md").status, FileStatus::kDeleted);
  EXPECT_THAT(Search("oboe"), ::testing::IsEmpty());
}

TEST_F(IngesterTest, AnIndexFailureFailsThatFileOnlyAndItIsRetriedNextTime) {
  WriteGoodTree();
  flaky_->fail_substring_ = "todo.txt";
  const Run first = Ingest({dir_.path()});
  EXPECT_EQ(first.files.at("notes/todo.txt").status, FileStatus::kFailed);
  EXPECT_THAT(first.files.at("notes/todo.txt").error, HasSubstr("index down"));
  EXPECT_EQ(first.summary.added, 6);
  flaky_->fail_substring_.clear();
  const Run second = Ingest({dir_.path()});
  EXPECT_EQ(second.files.at("notes/todo.txt").status, FileStatus::kAdded);
  EXPECT_EQ(second.summary.unchanged, 6);
}

TEST_F(IngesterTest, RelativePathsAreRejectedUpFront) {
  IngestRequest request;
  request.paths = {"notes/plan.md"};
  auto result = ingester_->Run(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr("absolute"));
}

TEST_F(IngesterTest, CancellingStopsAtAFileBoundaryAndDetectsNoDeletions) {
  WriteGoodTree();
  Ingest({dir_.path()});
  std::filesystem::remove(dir_.path() + "/notes/todo.txt");
  int files = 0;
  IngestObserver observer;
  observer.file = [&](const FileReport&) { ++files; };
  observer.cancelled = [&] { return files >= 2; };
  IngestRequest request;
  request.paths = {dir_.path()};
  auto summary = ingester_->Run(request, observer);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->cancelled);
  EXPECT_EQ(summary->deleted, 0);
  EXPECT_LT(files, 7);
}

TEST_F(IngesterTest, TheCrawlerPicksUpNewFilesInItsFolders) {
  dir_.Write("watched/first.md", "# First\nA note about the xylophone.\n");
  CrawlFolder folder;
  folder.path = dir_.path() + "/watched";
  folder.interval = milliseconds(100);
  CrawlerOptions options;
  options.initial_delay = milliseconds(0);
  Crawler crawler(*ingester_, {folder}, options);
  auto wait_for = [&](const std::string& query) {
    for (int i = 0; i < 100; ++i) {
      if (!Search(query).empty()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("xylophone"));
  dir_.Write("watched/second.md", "# Second\nThe accordion arrived.\n");
  ASSERT_TRUE(wait_for("accordion"));
  crawler.Stop();
  const auto status = crawler.Status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_GE(status[0].runs, 2);
  EXPECT_TRUE(status[0].last_error.empty());
}

}  // namespace
}  // namespace steward::memory::ingest
