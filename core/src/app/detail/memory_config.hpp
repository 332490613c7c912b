#pragma once
// The `memory:` section of steward.yaml (memory/memory_config.hpp). Split from config.cpp to keep
// that file about the core.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `memory: {embeddings: {provider, base_url, api_key, model, dimension, timeout_ms},
// search: {rrf_k, recency_half_life_days, source_authority: {glob: weight}, vector_backend},
// chunking: {words, overlap}, ingest: {…} (detail/ingest_config.hpp)}` into config.memory.
// openai needs base_url and model; local takes neither (its model is fixed); api_key may use
// ${ENV} and is never quoted back.
[[nodiscard]] Status ParseMemorySection(const Field& f, Config& config);

}  // namespace steward::app::detail
