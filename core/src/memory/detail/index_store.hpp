#pragma once
// The SQL half of MemoryIndex: every statement that reads or writes memory_item, memory_chunk and
// embedding_model for indexing (searching is in hybrid_search.cpp). Kept apart so memory_index.cpp
// reads as the flow: validate, skip unchanged, chunk, embed, write, update the ANN index.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memory/chunker.hpp"
#include "memory/embedder.hpp"
#include "memory/memory_index.hpp"
#include "memory/vector_index.hpp"
#include "store/database.hpp"

namespace steward::memory::detail {

struct ModelRecord {
  int id = 0;  // 0: no usable model (dimension unknown)
  int dimension = 0;
  std::string name;
};

// Records `embedder`'s model as the current one (learning its dimension with one probe call if it
// does not know it). Chunks embedded by this model with another dimension are reset to pending.
[[nodiscard]] Result<ModelRecord> RegisterModel(store::Database& db, Embedder& embedder);

// True when the `vector` extension is (or could now be) installed in the database.
[[nodiscard]] Result<bool> EnsurePgvector(store::Database& db);
// The HNSW expression index for one model's vectors.
[[nodiscard]] Status EnsurePgvectorIndex(store::Database& db, int model_id, int dimension);
// Loads every vector of `model_id` into `index`, in pages.
[[nodiscard]] Status LoadVectors(store::Database& db, int model_id, VectorIndex& index);
// Chunks items that have none (their chunks are left for the background embedder). Returns how many.
[[nodiscard]] Result<int> BackfillChunks(store::Database& db, const MemoryIndexOptions& options);

// kInvalidArgument naming the field when an item cannot be stored.
[[nodiscard]] Status ValidateItem(const ItemInput& item);

// What is stored for an input's source, and the hash the input will be stored with.
struct Existing {
  int64_t id = 0;  // 0: no valid item with this source
  std::string hash, new_hash, created_at;
};
// One entry per item (entries for !todo[i] are left empty).
[[nodiscard]] Result<std::vector<Existing>> LookupSources(store::Database& db, const std::vector<ItemInput>& items,
                                                          const std::vector<bool>& todo);

struct PreparedItem {
  int64_t existing_id = 0;
  std::string hash;  // empty: md5(content) in SQL
  std::vector<Chunk> chunks;
  std::vector<std::vector<float>> vectors;  // empty, or one per chunk
};

// The text a chunk is embedded as: the item's title gives the chunk its context.
[[nodiscard]] std::string EmbeddingText(const std::string& title, const std::string& content);

struct Written {
  IndexedItem item;
  std::vector<std::pair<int64_t, std::vector<float>>> vectors;  // chunk id -> vector, for the ANN index
};
// One transaction: the item (a new version of `existing_id` unless always_add), its chunks with
// any vectors, the supersedes link and the audit row.
[[nodiscard]] Result<Written> WriteItem(store::Database& db, const ItemInput& item, PreparedItem& prepared,
                                        bool always_add, int model_id, const AccessContext& ctx);

[[nodiscard]] Result<int> RetireSourceRows(store::Database& db, const std::string& source, const AccessContext& ctx);
[[nodiscard]] Result<std::vector<SourceEntry>> ListSourceEntries(store::Database& db, const std::string& prefix);

struct PendingChunk {
  int64_t id = 0;
  std::string heading, content;
};
// Up to `limit` chunks lacking a vector of `model_id`, oldest first.
[[nodiscard]] Result<std::vector<PendingChunk>> PendingChunks(store::Database& db, int model_id, int limit);
[[nodiscard]] Status StoreChunkVectors(store::Database& db, int model_id,
                                       const std::vector<std::pair<int64_t, std::vector<float>>>& vectors);
[[nodiscard]] Result<int64_t> CountPending(store::Database& db, int model_id);
[[nodiscard]] Result<int64_t> CountChunks(store::Database& db);

// True iff `s` is well-formed UTF-8 without NUL bytes (PostgreSQL text accepts nothing else).
[[nodiscard]] bool IsStorableUtf8(std::string_view s, size_t* bad_offset = nullptr);

}  // namespace steward::memory::detail
