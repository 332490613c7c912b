#include "memory/memory_index.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "memory/chunker.hpp"
#include "memory/detail/index_store.hpp"
#include "memory/hybrid_search.hpp"
#include "memory/query_planner.hpp"
#include "memory/session_store.hpp"
#include "memory/vector_index.hpp"

namespace steward::memory {

using nlohmann::json;
using namespace detail;  // NOLINT(google-build-using-namespace): the private half of this class

const char* ToString(IndexOutcome outcome) {
  switch (outcome) {
    case IndexOutcome::kAdded: return "added";
    case IndexOutcome::kReplaced: return "replaced";
    case IndexOutcome::kUnchanged: return "unchanged";
  }
  return "added";
}

json ToJson(const SearchHit& hit) {
  json j{{"item_id", hit.item_id},       {"chunk_id", hit.chunk_id},     {"type", hit.type},
         {"title", hit.title},           {"source", hit.source},         {"excerpt", hit.excerpt},
         {"created_at", hit.created_at}, {"updated_at", hit.updated_at}, {"score", hit.score},
         {"metadata", hit.metadata.is_discarded() ? json::object() : hit.metadata}};
  if (hit.text_rank) j["text_rank"] = *hit.text_rank;
  if (hit.vector_rank) j["vector_rank"] = *hit.vector_rank;
  return j;
}

class MemoryIndex::Impl {
 public:
  Impl(store::Database& db, std::shared_ptr<Embedder> embedder, MemoryIndexOptions options)
      : db_(db), embedder_(std::move(embedder)), options_(std::move(options)) {}

  ~Impl() { StopBackground(); }

  Status Init();
  std::vector<Result<IndexedItem>> Upsert(const std::vector<ItemInput>& items, bool always_add,
                                          const AccessContext& ctx);
  Result<int> Retire(const std::string& source, const AccessContext& ctx);
  Result<std::vector<SourceEntry>> List(const std::string& prefix) { return ListSourceEntries(db_, prefix); }
  Result<SearchResponse> Search(const SearchRequest& request, const AccessContext& ctx);
  bool WaitForEmbeddings(std::chrono::milliseconds timeout);
  MemoryIndexStats Stats();

 private:
  // Vectors for `texts` from the embedder, in embed_batch pieces; nullopt if it failed (logged).
  std::optional<std::vector<std::vector<float>>> TryEmbed(const std::vector<std::string>& texts);
  void AddToAnn(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors);
  void BackgroundMain();
  void StartBackground();
  void StopBackground();
  void Wake() {
    {
      std::lock_guard lock(bg_mu_);
      bg_wake_ = true;
    }
    bg_cv_.notify_all();
  }

  store::Database& db_;
  const std::shared_ptr<Embedder> embedder_;
  const MemoryIndexOptions options_;

  std::string backend_ = "none";  // pgvector | hnswlib | none
  int model_id_ = 0;
  int dimension_ = 0;
  std::string model_;
  std::unique_ptr<VectorIndex> ann_;  // hnswlib backend only
  std::atomic<int64_t> texts_embedded_{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;  // wakes the re-embedder; WaitForEmbeddings waits on it too
  bool bg_wake_ = false;           // guarded by bg_mu_
  bool bg_stop_ = false;           // guarded by bg_mu_
  bool bg_idle_ = false;           // guarded by bg_mu_: the last pass found nothing pending
  std::thread bg_;
};

Status MemoryIndex::Impl::Init() {
  const std::string& wanted = options_.vector_backend;
  if (wanted != "auto" && wanted != "pgvector" && wanted != "hnswlib" && wanted != "none") {
    return MakeError(ErrorCode::kConfig, "vector_backend must be auto, pgvector, hnswlib or none",
                     "memory.search.vector_backend");
  }
  if (embedder_ && wanted != "none") {
    auto model = RegisterModel(db_, *embedder_);
    if (!model.ok()) return model.error();
    model_id_ = model->id;
    dimension_ = model->dimension;
    model_ = model->name;
    if (model_id_ > 0) {
      bool pgvector = false;
      if (wanted == "auto" || wanted == "pgvector") {
        auto has = EnsurePgvector(db_);
        if (!has.ok()) return has.error();
        pgvector = *has;
        if (!pgvector && wanted == "pgvector") {
          return MakeError(ErrorCode::kConfig,
                           "vector_backend is pgvector but the database has no `vector` extension "
                           "(CREATE EXTENSION vector failed); use auto or hnswlib",
                           "memory.search.vector_backend");
        }
      }
      if (pgvector) {
        STEWARD_RETURN_IF_ERROR(EnsurePgvectorIndex(db_, model_id_, dimension_));
        backend_ = "pgvector";
      } else {
        backend_ = "hnswlib";
        ann_ = std::make_unique<VectorIndex>(dimension_);
        const auto started = std::chrono::steady_clock::now();
        STEWARD_RETURN_IF_ERROR(LoadVectors(db_, model_id_, *ann_));
        spdlog::info("memory: loaded {} vectors of {} into the hnswlib index in {} ms", ann_->size(), model_,
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                         .count());
      }
    }
  }
  // Items written before chunking existed (or by hand) get their chunks now.
  auto backfilled = BackfillChunks(db_, options_);
  if (!backfilled.ok()) return backfilled.error();
  if (*backfilled > 0) spdlog::info("memory: chunked {} items that had no chunks", *backfilled);
  if (options_.background_reembed && backend_ != "none") StartBackground();
  return Status::Ok();
}

std::optional<std::vector<std::vector<float>>> MemoryIndex::Impl::TryEmbed(const std::vector<std::string>& texts) {
  if (!embedder_ || backend_ == "none" || texts.empty()) return std::nullopt;
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  const size_t batch = static_cast<size_t>(std::max(1, options_.embed_batch));
  for (size_t i = 0; i < texts.size(); i += batch) {
    std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(i),
                                  texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), i + batch)));
    auto got = embedder_->Embed(part);
    if (!got.ok()) {
      spdlog::warn("memory: embedding {} texts failed ({}); they will be embedded in the background",
                   texts.size(), got.error().ToString());
      return std::nullopt;
    }
    if (got->dimension != dimension_) {
      spdlog::warn("memory: the embedder returned {} dimensions, {} are recorded; not storing them",
                   got->dimension, dimension_);
      return std::nullopt;
    }
    texts_embedded_ += static_cast<int64_t>(part.size());
    for (auto& v : got->vectors) out.push_back(std::move(v));
  }
  return out;
}

void MemoryIndex::Impl::AddToAnn(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors) {
  if (!ann_ || vectors.empty()) return;
  const Status s = vectors.size() > 256 ? ann_->UpsertMany(vectors, 2) : [&]() -> Status {
    for (const auto& [id, v] : vectors) STEWARD_RETURN_IF_ERROR(ann_->Upsert(id, v));
    return Status::Ok();
  }();
  if (!s.ok()) spdlog::error("memory: hnswlib index update failed: {}", s.error().ToString());
}

std::vector<Result<IndexedItem>> MemoryIndex::Impl::Upsert(const std::vector<ItemInput>& items, bool always_add,
                                                           const AccessContext& ctx) {
  std::vector<Result<IndexedItem>> results(items.size(), Result<IndexedItem>(IndexedItem{}));
  std::vector<PreparedItem> prepared(items.size());
  std::vector<bool> todo(items.size(), false);
  for (size_t i = 0; i < items.size(); ++i) {
    if (Status valid = ValidateItem(items[i]); !valid.ok()) {
      results[i] = valid.error();
      continue;
    }
    todo[i] = true;
  }
  // Unchanged sources are settled before anything is chunked or embedded.
  if (!always_add) {
    auto existing = LookupSources(db_, items, todo);
    if (!existing.ok()) {
      for (size_t i = 0; i < items.size(); ++i) {
        if (todo[i]) results[i] = existing.error();
      }
      return results;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!todo[i]) continue;
      const auto& e = (*existing)[i];
      prepared[i].existing_id = e.id;
      prepared[i].hash = e.new_hash;
      if (e.id > 0 && e.hash == e.new_hash) {
        results[i] = IndexedItem{e.id, IndexOutcome::kUnchanged, 0, 0, e.created_at};
        todo[i] = false;
      }
    }
  }
  // Chunk everything, embed all chunks in shared batches.
  std::vector<std::string> texts;
  std::vector<std::pair<size_t, size_t>> owner;  // (item, chunk) per text
  for (size_t i = 0; i < items.size(); ++i) {
    if (!todo[i]) continue;
    prepared[i].chunks = ChunkText(items[i].content, ChunkerOptions{options_.chunk_tokens, options_.chunk_overlap});
    if (prepared[i].chunks.empty()) prepared[i].chunks.push_back(Chunk{0, items[i].content.size(), 0, items[i].content});
    for (size_t c = 0; c < prepared[i].chunks.size(); ++c) {
      texts.push_back(EmbeddingText(items[i].title, prepared[i].chunks[c].text));
      owner.emplace_back(i, c);
    }
  }
  if (auto vectors = TryEmbed(texts)) {
    for (size_t t = 0; t < owner.size(); ++t) {
      auto& p = prepared[owner[t].first];
      p.vectors.resize(p.chunks.size());
      p.vectors[owner[t].second] = std::move((*vectors)[t]);
    }
  }
  bool pending = false;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!todo[i]) continue;
    auto written = WriteItem(db_, items[i], prepared[i], always_add, model_id_, ctx);
    if (!written.ok()) {
      results[i] = written.error();
      continue;
    }
    AddToAnn(written->vectors);
    if (written->item.embedded < written->item.chunks) pending = true;
    results[i] = written->item;
  }
  if (pending) Wake();
  return results;
}

Result<int> MemoryIndex::Impl::Retire(const std::string& source, const AccessContext& ctx) {
  return RetireSourceRows(db_, source, ctx);
}

Result<SearchResponse> MemoryIndex::Impl::Search(const SearchRequest& request, const AccessContext& ctx) {
  PlannerContext pc;
  pc.vector_backend = backend_;
  pc.rrf_k = options_.rrf_k;
  pc.recency_half_life_days = options_.recency_half_life_days;
  auto plan = PlanQuery(request, pc);
  if (!plan.ok()) return plan.error();
  std::vector<float> query_vector;
  std::string vector_note;
  double embed_ms = 0;
  if (plan->use_vector) {
    const auto t = std::chrono::steady_clock::now();
    auto got = embedder_->Embed({plan->text_query});
    embed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    if (got.ok() && got->vectors.size() == 1 && static_cast<int>(got->vectors[0].size()) == dimension_) {
      query_vector = std::move(got->vectors[0]);
    } else {
      // Degrade to full-text rather than fail: the words may still find it.
      plan->use_vector = false;
      if (!plan->use_fulltext && !plan->order_by_time) {
        return got.ok() ? MakeError(ErrorCode::kInternal, "the embedder returned an unusable vector")
                        : got.error();
      }
      vector_note = "vector path skipped: embedding the query failed (" +
                    (got.ok() ? std::string("unusable vector") : got.error().message) + ")";
    }
  }
  SearchBackend backend;
  backend.db = &db_;
  backend.ann = ann_.get();
  backend.model_id = model_id_;
  backend.dimension = dimension_;
  backend.source_authority = &options_.source_authority;
  auto response = ExecuteSearch(*plan, backend, query_vector, ctx, request.explain);
  if (!response.ok()) return response;
  if (plan->use_vector) response->plan["timings_ms"]["embed_query_ms"] = embed_ms;
  if (!vector_note.empty()) response->plan["notes"].push_back(vector_note);
  return response;
}

void MemoryIndex::Impl::StartBackground() {
  bg_ = std::thread([this] { BackgroundMain(); });
}

void MemoryIndex::Impl::StopBackground() {
  {
    std::lock_guard lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
}

void MemoryIndex::Impl::BackgroundMain() {
  auto backoff = std::chrono::milliseconds(500);
  while (true) {
    {
      std::unique_lock lock(bg_mu_);
      if (bg_stop_) return;
    }
    auto batch = PendingChunks(db_, model_id_, options_.embed_batch);
    bool worked = false;
    bool failed = !batch.ok();
    if (batch.ok() && !batch->empty()) {
      std::vector<std::string> texts;
      for (const auto& c : *batch) texts.push_back(EmbeddingText(c.heading, c.content));
      auto vectors = TryEmbed(texts);
      if (vectors) {
        std::vector<std::pair<int64_t, std::vector<float>>> stored;
        for (size_t i = 0; i < batch->size(); ++i) stored.emplace_back((*batch)[i].id, std::move((*vectors)[i]));
        const Status saved = StoreChunkVectors(db_, model_id_, stored);
        if (saved.ok()) {
          AddToAnn(stored);
          worked = true;
        } else {
          spdlog::warn("memory: storing re-embedded vectors failed: {}", saved.error().ToString());
          failed = true;
        }
      } else {
        failed = true;
      }
    } else if (!batch.ok()) {
      spdlog::warn("memory: looking for chunks to embed failed: {}", batch.error().ToString());
    }
    std::unique_lock lock(bg_mu_);
    bg_idle_ = batch.ok() && batch->empty();
    if (bg_idle_) bg_cv_.notify_all();
    if (worked) {
      backoff = std::chrono::milliseconds(500);
      continue;
    }
    const auto wait = failed ? backoff : options_.reembed_idle;
    if (failed) backoff = std::min(backoff * 2, std::chrono::milliseconds(60'000));
    bg_cv_.wait_for(lock, wait, [this] { return bg_stop_ || bg_wake_; });
    bg_wake_ = false;
    bg_idle_ = false;
  }
}

bool MemoryIndex::Impl::WaitForEmbeddings(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto pending = CountPending(db_, model_id_);
    if (pending.ok() && *pending == 0) return true;
    if (!bg_.joinable()) return false;
    Wake();
    std::unique_lock lock(bg_mu_);
    bg_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  auto pending = CountPending(db_, model_id_);
  return pending.ok() && *pending == 0;
}

MemoryIndexStats MemoryIndex::Impl::Stats() {
  MemoryIndexStats s;
  s.vector_backend = backend_;
  s.model = model_;
  s.dimension = dimension_;
  s.texts_embedded = texts_embedded_.load();
  s.ann_size = ann_ ? static_cast<int64_t>(ann_->size()) : 0;
  if (auto counts = CountChunks(db_); counts.ok()) s.chunks = *counts;
  // With no model nothing is ever embedded, so nothing is pending either.
  if (model_id_ > 0) {
    if (auto pending = CountPending(db_, model_id_); pending.ok()) s.chunks_pending = *pending;
  }
  return s;
}

// ---- MemoryIndex ----

Result<std::unique_ptr<MemoryIndex>> MemoryIndex::Open(store::Database& db, std::shared_ptr<Embedder> embedder,
                                                       MemoryIndexOptions options) {
  auto impl = std::make_unique<Impl>(db, std::move(embedder), std::move(options));
  STEWARD_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<MemoryIndex>(new MemoryIndex(std::move(impl)));
}

MemoryIndex::MemoryIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MemoryIndex::~MemoryIndex() = default;

Result<IndexedItem> MemoryIndex::Add(const ItemInput& item, const AccessContext& ctx) {
  return std::move(impl_->Upsert({item}, /*always_add=*/true, ctx).front());
}

Result<IndexedItem> MemoryIndex::Upsert(const ItemInput& item, const AccessContext& ctx) {
  return std::move(impl_->Upsert({item}, /*always_add=*/false, ctx).front());
}

std::vector<Result<IndexedItem>> MemoryIndex::UpsertBatch(const std::vector<ItemInput>& items,
                                                          const AccessContext& ctx) {
  return impl_->Upsert(items, /*always_add=*/false, ctx);
}

Result<int> MemoryIndex::RetireSource(const std::string& source, const AccessContext& ctx) {
  return impl_->Retire(source, ctx);
}

Result<std::vector<SourceEntry>> MemoryIndex::ListSources(const std::string& prefix) { return impl_->List(prefix); }

Result<SearchResponse> MemoryIndex::Search(const SearchRequest& request, const AccessContext& ctx) {
  return impl_->Search(request, ctx);
}

bool MemoryIndex::WaitForEmbeddings(std::chrono::milliseconds timeout) { return impl_->WaitForEmbeddings(timeout); }

MemoryIndexStats MemoryIndex::Stats() const { return impl_->Stats(); }

}  // namespace steward::memory
