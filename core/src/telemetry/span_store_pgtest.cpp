#include "telemetry/span_store.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/testing/pg_test_database.hpp"
#include "store/migrations.hpp"

namespace steward::telemetry {
namespace {

class SpanStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Connect(pg_.url(), 2);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(store::ApplyMigrations(*db_).ok());
  }
  int64_t Count(const std::string& where = "true") {
    auto n = db_->Read([&](pqxx::read_transaction& tx) { return tx.exec1("SELECT count(*) FROM span WHERE " + where)[0].as<int64_t>(); });
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }
  testing::PgTestDatabase pg_;
  std::unique_ptr<store::Database> db_;
};

Span MakeSpan(const std::string& trace_id, const std::string& name, int64_t start, std::string parent = "") {
  Span s;
  s.trace_id = trace_id;
  s.span_id = NewSpanId();
  s.parent_span_id = std::move(parent);
  s.name = name;
  s.start_ns = start;
  s.end_ns = start + 2'500'000;
  return s;
}

TEST_F(SpanStoreTest, InsertsABatchInOneStatementAndReadsTheTraceBackInOrder) {
  SpanStore store(*db_, "steward");
  const std::string trace = NewTraceId();
  std::vector<Span> batch;
  Span root = MakeSpan(trace, "chat.run", 1000);
  root.run_id = "6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f";
  root.status = SpanStatus::kOk;
  root.attributes = {{"agent.id", std::string("researcher")}, {"steward.cost_usd", 0.5},
                     {"gen_ai.usage.input_tokens", int64_t{561}}, {"ok", true}};
  batch.push_back(root);
  for (int i = 0; i < 300; ++i) batch.push_back(MakeSpan(trace, "child " + std::to_string(i), 2000 + i, root.span_id));
  Span worker = MakeSpan(trace, "invoke_agent", 1500, root.span_id);
  worker.service = "steward-worker";
  worker.status = SpanStatus::kError;
  worker.status_message = "it broke";
  batch.push_back(worker);
  ASSERT_TRUE(store.Export(batch).ok());
  EXPECT_EQ(Count(), 302);

  auto spans = store.LoadTrace(trace);
  ASSERT_TRUE(spans.ok()) << spans.error().ToString();
  ASSERT_EQ(spans->size(), 302u);
  const Span& first = (*spans)[0];
  EXPECT_EQ(first.name, "chat.run");
  EXPECT_EQ(first.run_id, root.run_id);
  EXPECT_EQ(first.status, SpanStatus::kOk);
  EXPECT_EQ(first.service, "steward");
  EXPECT_EQ(first.attributes, root.attributes);
  EXPECT_DOUBLE_EQ(first.duration_ms(), 2.5);
  EXPECT_EQ((*spans)[1].name, "invoke_agent");
  EXPECT_EQ((*spans)[1].service, "steward-worker");
  EXPECT_EQ((*spans)[1].status_message, "it broke");
  EXPECT_EQ((*spans)[2].parent_span_id, root.span_id);
  EXPECT_EQ(Count("run_id = '6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f'"), 1);
  EXPECT_EQ(Count("parent_span_id IS NULL"), 1);
}

TEST_F(SpanStoreTest, ARetriedBatchStoresEachSpanOnce) {
  SpanStore store(*db_, "steward");
  const std::vector<Span> batch = {MakeSpan(NewTraceId(), "a", 1), MakeSpan(NewTraceId(), "b", 2)};
  ASSERT_TRUE(store.Export(batch).ok());
  ASSERT_TRUE(store.Export(batch).ok());
  EXPECT_EQ(Count(), 2);
}

TEST_F(SpanStoreTest, AwkwardValuesDoNotFailTheBatch) {
  SpanStore store(*db_, "steward");
  Span s = MakeSpan(NewTraceId(), "nul \x01 and quote ' \" and bad utf8 \xff", 5);
  s.run_id = "not-a-uuid";
  s.attributes = {{"text", std::string("zero\0byte", 9)}, {"nan", std::nan("")}};
  ASSERT_TRUE(store.Export({s}).ok());
  EXPECT_EQ(Count("run_id IS NULL"), 1);
}

TEST_F(SpanStoreTest, LoadRunReadsTheRunRowOrSaysWhatIsWrong) {
  SpanStore store(*db_, "steward");
  ASSERT_TRUE(db_->Transact([](pqxx::work& tx) {
    tx.exec("INSERT INTO run (id, kind, agent, runner, status, trace_id, confidence) VALUES "
            "('6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f', 'chat', 'researcher', 'pydantic_ai', 'succeeded', "
            "'4bf92f3577b34da6a3ce929d0e0e4736', 83)");
  }).ok());
  auto run = store.LoadRun("6f1c2f9e-8a1b-4c3d-9e8f-0a1b2c3d4e5f");
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  EXPECT_EQ((*run)["agent"], "researcher");
  EXPECT_EQ((*run)["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ((*run)["confidence"], 83);
  EXPECT_EQ(store.LoadRun("00000000-0000-4000-8000-000000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store.LoadRun("nope").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SpanStoreTest, TracerExportsIntoTheTable) {
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  exporters.push_back(std::make_unique<SpanStore>(*db_, "steward"));
  TracerOptions options;
  auto tracer = Tracer::Create(options, std::move(exporters));
  std::string trace;
  {
    ScopedSpan root = tracer->StartSpan("chat.run");
    trace = root.context().trace_id;
    ScopedSpan child = tracer->StartSpan("chat offline", root.context());
  }
  ASSERT_TRUE(tracer->Flush(std::chrono::seconds(5)));
  EXPECT_EQ(Count("trace_id = '" + trace + "'"), 2);
  tracer->Shutdown();
}

}  // namespace
}  // namespace steward::telemetry
