#pragma once
// Executes a QueryPlan: the full-text list (PostgreSQL tsvector/GIN), the vector list (pgvector
// HNSW inside PostgreSQL, or the in-core hnswlib index with the filters checked in PostgreSQL),
// reciprocal rank fusion per item, then re-ranking by recency and source authority. The pure
// parts (fusion, boosts) are exposed for unit tests.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "memory/memory_index.hpp"
#include "memory/query_planner.hpp"
#include "memory/vector_index.hpp"
#include "store/database.hpp"

namespace steward::memory {

// One ranked list of a retrieval path: item ids best first, with the chunk that matched.
struct RankedItem {
  int64_t item_id = 0;
  int64_t chunk_id = 0;
  double raw = 0;  // the path's own score (ts_rank_cd, cosine similarity)
  double weight = 1.0;  // multiplies the path weight (e.g. 0.5 for relaxed any-word matches)
};

struct FusedItem {
  int64_t item_id = 0;
  int64_t chunk_id = 0;  // from the best-weighted path that found it
  double rrf = 0;
  std::optional<int> text_rank, vector_rank;  // 1-based
};

// Reciprocal rank fusion: score = sum over paths of weight * item.weight / (k + rank). Ties keep
// the order of first appearance. `text` and `vector` may be empty.
[[nodiscard]] std::vector<FusedItem> FuseRanks(const std::vector<RankedItem>& text,
                                               const std::vector<RankedItem>& vector, double text_weight,
                                               double vector_weight, double k);

// 1 + weight * 0.5^(age_days / half_life_days); 1 when weight or half-life is 0.
[[nodiscard]] double RecencyBoost(double age_days, double half_life_days, double weight);

// The weight of the first glob (tools::GlobMatch syntax) matching `source`, in map order; 1.0
// when none matches.
[[nodiscard]] double SourceAuthority(const std::string& source, const std::map<std::string, double>& globs);

// What the executor needs from its owner (MemoryIndex). Pointers may be null when unused.
struct SearchBackend {
  store::Database* db = nullptr;
  const VectorIndex* ann = nullptr;  // the hnswlib backend
  int model_id = 0;                  // embedding_model.id of current vectors (0: none)
  int dimension = 0;
  const std::map<std::string, double>* source_authority = nullptr;
};

// Runs `plan` (with `query_vector` already embedded when plan.use_vector) and logs the search to
// memory_access_log. `explain` adds the SQL text to the plan. Errors: kUnavailable, kInvalidArgument
// (the database rejected a filter value).
[[nodiscard]] Result<SearchResponse> ExecuteSearch(const QueryPlan& plan, const SearchBackend& backend,
                                                   const std::vector<float>& query_vector,
                                                   const AccessContext& ctx, bool explain);

// "{0.1,0.2,...}" / "[0.1,0.2,...]" literals for real[] and pgvector parameters.
[[nodiscard]] std::string ArrayLiteral(const std::vector<float>& v, char open = '{', char close = '}');

}  // namespace steward::memory
