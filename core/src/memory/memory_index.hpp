#pragma once
// The write and read API of long-term memory: items (notes, documents, facts) are stored in
// memory_item, split into overlapping chunks (memory_chunk), embedded, and found again by
// hybrid search (full-text + vector, fused, filtered, re-ranked). PostgreSQL is the truth; the
// in-core hnswlib index (used when the database lacks pgvector) is rebuilt from it at Open() and
// updated on every write. Ingestion (`steward ingest`, the folder crawler), the memory tools and
// GET /api/memory/search all go through this class.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "memory/embedder.hpp"
#include "store/database.hpp"

namespace steward::memory {

// Who is reading or writing, for memory_access_log. Both may be empty.
struct AccessContext {
  std::string run_id;     // a uuid, or empty
  std::string principal;  // e.g. "owner", "ingest"
};

// One item to store. Times are ISO 8601 strings PostgreSQL accepts (e.g. 2024-05-01T09:00:00Z);
// empty means now() (valid_to: empty means still valid).
struct ItemInput {
  std::string type = "document";  // note | document | fact | message | ... (non-empty)
  std::string title;
  std::string source;  // absolute path, URL, or conversation:<session uuid>; the Upsert key
  std::string content;
  nlohmann::json metadata = nlohmann::json::object();  // author, path, dates, mime, ...
  std::string content_hash;  // e.g. sha256 of the file bytes; empty: md5 of content (in SQL)
  std::string created_at;
  std::string updated_at;
  std::string valid_from;
  std::string valid_to;
};

enum class IndexOutcome {
  kAdded,      // a new item
  kReplaced,   // an item with this source existed with another hash: a new version was stored
               // (new id, valid_from = now), the old one retired (valid_to = now) and linked to
               // it by memory_link 'supersedes', so "as of" searches still see the old text
  kUnchanged,  // same source and content_hash: nothing written, nothing embedded
};

struct IndexedItem {
  int64_t id = 0;
  IndexOutcome outcome = IndexOutcome::kAdded;
  int chunks = 0;         // chunks written (0 when unchanged)
  int embedded = 0;       // chunks embedded now; the rest are embedded by the background worker
  std::string created_at;  // ISO 8601 UTC
};

// What is stored for a source (for incremental ingestion: skip by hash, detect deletions).
struct SourceEntry {
  int64_t id = 0;
  std::string source;
  std::string content_hash;
  std::string updated_at;  // ISO 8601 UTC
};

// Filters and knobs for one search. Empty/absent fields do not filter.
struct SearchRequest {
  std::string query;  // words; may be empty when filters alone select (then newest first)
  int limit = 10;     // 1..100
  std::vector<std::string> types;  // e.g. {"note","document"}
  std::string source_prefix;       // e.g. "/home/me/notes/" or "conversation:"
  nlohmann::json metadata = nlohmann::json::object();  // JSONB containment (metadata @> this)
  std::string created_from, created_to;  // [from, to) on created_at
  std::string updated_from, updated_to;  // [from, to) on updated_at
  std::string metadata_date_key;         // e.g. "date": metadata->>key parsed as a timestamp...
  std::string date_from, date_to;        // ...within [from, to)
  std::string as_of;  // items valid at this time (valid_from <= t < valid_to); empty: now
  bool include_expired = false;  // true: ignore validity entirely
  // "auto" lets the planner choose; "hybrid" | "fulltext" | "vector" force a path.
  std::string mode = "auto";
  bool explain = false;  // fill SearchResponse::plan with SQL and timings, not just the summary
};

struct SearchHit {
  int64_t item_id = 0;
  int64_t chunk_id = 0;  // the best-matching chunk of the item
  std::string type, title, source;
  std::string excerpt;  // the best chunk, shortened around the query words
  std::string created_at, updated_at;  // ISO 8601 UTC
  nlohmann::json metadata;
  double score = 0;                // final score after fusion and re-ranking (higher is better)
  std::optional<int> text_rank;    // 1-based rank in the full-text list, if it was there
  std::optional<int> vector_rank;  // 1-based rank in the vector list, if it was there
};

struct SearchResponse {
  std::vector<SearchHit> hits;
  // The plan as executed: {intent, reason, paths:[...], filters, weights, vector_backend,
  // timings_ms, sql?(explain)}. Safe to show to users and put in traces.
  nlohmann::json plan;
};

struct MemoryIndexOptions {
  int chunk_tokens = 160;    // target chunk size in words (~210 model tokens: under the local
                             // model's 256-token window)
  int chunk_overlap = 32;    // words repeated from the previous chunk
  double rrf_k = 60;         // reciprocal rank fusion constant
  double recency_half_life_days = 180;  // 0 disables the recency boost
  std::map<std::string, double> source_authority;  // glob on source -> weight multiplier
  std::string vector_backend = "auto";  // auto (pgvector if present) | pgvector | hnswlib | none
  int embed_batch = 32;      // texts per embedding call
  bool background_reembed = true;  // run the thread that embeds chunks lacking current vectors
  std::chrono::milliseconds reembed_idle{2000};  // pause when there is nothing to embed
};

// Counters for tests, the benchmark and `doctor`.
struct MemoryIndexStats {
  std::string vector_backend;  // pgvector | hnswlib | none
  std::string model;           // current embedding model ("" when none)
  int dimension = 0;
  int64_t chunks = 0;          // chunks of valid items
  int64_t chunks_pending = 0;  // chunks whose embedding is missing or from another model
  int64_t texts_embedded = 0;  // texts sent to the embedder since Open()
  int64_t ann_size = 0;        // vectors in the in-core index (hnswlib backend)
};

class MemoryIndex final {
 public:
  // Applies nothing: migrations 0002 and 0007 must be applied. Records the embedder's model and
  // dimension in embedding_model (a new model marks every chunk pending, and the background
  // thread re-embeds them), picks the vector backend, and (hnswlib) loads every current vector
  // from PostgreSQL into the in-core index. `embedder` may be null: full-text only.
  // Errors: kUnavailable (database), kConfig (vector_backend=pgvector without the extension).
  [[nodiscard]] static Result<std::unique_ptr<MemoryIndex>> Open(
      store::Database& db, std::shared_ptr<Embedder> embedder, MemoryIndexOptions options = {});

  // Stops the background thread. The Database must outlive the index.
  ~MemoryIndex();
  MemoryIndex(const MemoryIndex&) = delete;
  MemoryIndex& operator=(const MemoryIndex&) = delete;

  // Stores a new item (always a new row, even if the source exists), chunks and embeds it. It is
  // searchable by full text when this returns and by vector too when `embedded == chunks`; if
  // the embedder fails the item is still stored and embedded later in the background.
  // Errors: kInvalidArgument (empty type/content, bad time), kUnavailable.
  [[nodiscard]] Result<IndexedItem> Add(const ItemInput& item, const AccessContext& ctx = {});

  // The ingestion entry point: keyed by `source` among valid items. Same hash -> kUnchanged (no
  // write, no embedding; id = the existing item); other hash -> a new version (kReplaced, see
  // IndexOutcome); no such source -> Add (kAdded). Concurrent upserts of one source serialise.
  [[nodiscard]] Result<IndexedItem> Upsert(const ItemInput& item, const AccessContext& ctx = {});

  // As Upsert for many items, embedding their new chunks in shared batches (much faster for
  // ingestion). One result per input, in order; a failing item yields its Error and does not
  // stop the others.
  [[nodiscard]] std::vector<Result<IndexedItem>> UpsertBatch(const std::vector<ItemInput>& items,
                                                              const AccessContext& ctx = {});

  // Marks the valid item with this source as no longer valid (valid_to = now()); it then drops
  // out of search (except as_of earlier / include_expired). Returns how many were retired.
  [[nodiscard]] Result<int> RetireSource(const std::string& source, const AccessContext& ctx = {});

  // Valid items whose source starts with `prefix` ("" = all), for deletion detection.
  [[nodiscard]] Result<std::vector<SourceEntry>> ListSources(const std::string& prefix);

  // Hybrid search as planned by QueryPlanner (or as forced by request.mode). Logged to
  // memory_access_log as a 'search'. Errors: kInvalidArgument (bad filter), kUnavailable.
  [[nodiscard]] Result<SearchResponse> Search(const SearchRequest& request,
                                              const AccessContext& ctx = {});

  // Blocks until no chunk is pending embedding or `timeout` passes; true when none is pending.
  // For tests and `steward ingest --wait`.
  [[nodiscard]] bool WaitForEmbeddings(std::chrono::milliseconds timeout);

  [[nodiscard]] MemoryIndexStats Stats() const;

  class Impl;  // memory_index.cpp; public so its helpers can name it

 private:
  explicit MemoryIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

[[nodiscard]] const char* ToString(IndexOutcome outcome);

// {item_id, chunk_id, type, title, source, excerpt, created_at, updated_at, metadata, score,
// text_rank?, vector_rank?}: how hits appear in the API, the CLI and the memory tools.
[[nodiscard]] nlohmann::json ToJson(const SearchHit& hit);

}  // namespace steward::memory
