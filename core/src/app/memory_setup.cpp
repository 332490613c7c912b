#include "app/memory_setup.hpp"

#include <spdlog/spdlog.h>

#include "telemetry/logging.hpp"

namespace steward::app {

Result<std::unique_ptr<memory::MemoryIndex>> OpenMemoryIndex(const memory::MemoryConfig& config,
                                                             store::Database& db,
                                                             const std::atomic<runners::WorkerPool*>& pool) {
  const memory::EmbeddingsConfig& e = config.embeddings;
  std::shared_ptr<memory::Embedder> embedder;
  if (e.provider == "local") {
    const auto* pool_ptr = &pool;
    const auto timeout = std::chrono::milliseconds(e.timeout_ms);
    embedder = std::make_shared<memory::FunctionEmbedder>(
        e.RecordedName(), memory::kLocalDimension,
        [pool_ptr, timeout](const std::vector<std::string>& texts) -> Result<memory::Embeddings> {
          runners::WorkerPool* workers = pool_ptr->load(std::memory_order_acquire);
          if (workers == nullptr) {
            return MakeError(ErrorCode::kUnavailable, "the worker pool is not running, so the local model cannot embed");
          }
          auto got = workers->Embed(texts, timeout);
          if (!got.ok()) return got.error();
          return memory::Embeddings{got->model, got->dimension, std::move(got->vectors)};
        });
  } else if (e.provider == "openai") {
    telemetry::RegisterSecret(e.api_key);
    embedder = memory::MakeOpenAiEmbedder({e.base_url, e.api_key, e.model, e.dimension, e.timeout_ms});
  }
  auto index = memory::MemoryIndex::Open(db, embedder, config.index);
  if (!index.ok()) return index.error();
  const memory::MemoryIndexStats stats = (*index)->Stats();
  spdlog::info("memory: embeddings {} ({} dimensions), vector search via {}, {} chunks ({} waiting for vectors)",
               stats.model.empty() ? "off" : stats.model, stats.dimension, stats.vector_backend, stats.chunks,
               stats.chunks_pending);
  return index;
}

}  // namespace steward::app
