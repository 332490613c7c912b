#pragma once
// Builds the embedder `memory.embeddings` asks for and opens the MemoryIndex on it. The local
// provider embeds through the worker pool, which starts after the index (workers need the HTTP
// server), so it reaches the pool through `pool`, null until the pool is up and again after it
// stops; until then embeddings wait in the background.

#include <atomic>
#include <memory>

#include "common/result.hpp"
#include "memory/memory_config.hpp"
#include "memory/memory_index.hpp"
#include "runners/worker_pool.hpp"
#include "store/database.hpp"

namespace steward::app {

// `pool` must outlive the index. Errors: as MemoryIndex::Open.
[[nodiscard]] Result<std::unique_ptr<memory::MemoryIndex>> OpenMemoryIndex(
    const memory::MemoryConfig& config, store::Database& db, const std::atomic<runners::WorkerPool*>& pool);

}  // namespace steward::app
