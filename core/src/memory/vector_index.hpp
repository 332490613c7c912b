#pragma once
// The in-core approximate-nearest-neighbour index (hnswlib HNSW, inner product on unit vectors =
// cosine) used when PostgreSQL lacks pgvector. It holds a copy of the current model's chunk
// vectors, keyed by chunk id; PostgreSQL stays the truth and the index is rebuilt from it.

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace steward::memory {

struct VectorIndexOptions {
  int m = 16;                 // graph degree
  int ef_construction = 100;  // build-time beam width
  int ef_search = 64;         // query-time beam width (raised to k when k is larger)
  size_t initial_capacity = 1024;  // grows by doubling
};

struct VectorMatch {
  int64_t id = 0;
  float similarity = 0;  // cosine similarity (dot product of unit vectors), higher is closer
};

// Thread-safe: any number of searches run together; writes are exclusive.
class VectorIndex final {
 public:
  explicit VectorIndex(int dimension, VectorIndexOptions options = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  [[nodiscard]] int dimension() const { return dimension_; }
  // Vectors currently searchable (removed ones excluded).
  [[nodiscard]] size_t size() const;

  // Adds or replaces the vector for `id`. kInvalidArgument if the length is not dimension().
  [[nodiscard]] Status Upsert(int64_t id, const std::vector<float>& vector);
  // Adds many at once using `threads` threads (start-up rebuild). Same errors as Upsert.
  [[nodiscard]] Status UpsertMany(const std::vector<std::pair<int64_t, std::vector<float>>>& items,
                                  int threads);
  // Drops `id` from results (hnswlib marks it deleted). Unknown ids are ignored.
  void Remove(int64_t id);

  // The `k` nearest vectors to `query`, best first.
  [[nodiscard]] std::vector<VectorMatch> Search(const std::vector<float>& query, size_t k) const;
  // Exact similarities of `query` to each of `ids` that the index holds, best first, at most k.
  // Used when filters leave few candidates (exact beats ANN with post-filtering there).
  [[nodiscard]] std::vector<VectorMatch> ScoreExact(const std::vector<float>& query,
                                                    const std::vector<int64_t>& ids, size_t k) const;
  // Exhaustive k-NN over everything (for recall measurements).
  [[nodiscard]] std::vector<VectorMatch> SearchExact(const std::vector<float>& query, size_t k) const;

  void set_ef_search(int ef);

 private:
  struct Impl;
  void EnsureCapacity(size_t needed);  // exclusive lock held

  const int dimension_;
  const VectorIndexOptions options_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::memory
