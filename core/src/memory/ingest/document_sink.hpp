#pragma once
// Where ingestion puts documents: the two MemoryIndex calls it needs, behind an interface so
// the pipeline can be tested with a sink that records or fails on purpose.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "memory/memory_index.hpp"

namespace steward::memory::ingest {

// Thread-safe implementations only (the crawler and `steward ingest` may overlap in time,
// though the Ingester serialises its own batches).
class DocumentSink {
 public:
  virtual ~DocumentSink() = default;
  // As MemoryIndex::UpsertBatch: one result per item, in order; one failure stops nothing.
  [[nodiscard]] virtual std::vector<Result<IndexedItem>> UpsertBatch(const std::vector<ItemInput>& items,
                                                                      const AccessContext& ctx) = 0;
  // As MemoryIndex::RetireSource: the valid item for `source` gets valid_to = now().
  [[nodiscard]] virtual Result<int> RetireSource(const std::string& source, const AccessContext& ctx) = 0;
};

// The production sink: a MemoryIndex (which must outlive it).
class MemoryIndexSink final : public DocumentSink {
 public:
  explicit MemoryIndexSink(MemoryIndex& index) : index_(index) {}
  [[nodiscard]] std::vector<Result<IndexedItem>> UpsertBatch(const std::vector<ItemInput>& items,
                                                              const AccessContext& ctx) override {
    return index_.UpsertBatch(items, ctx);
  }
  [[nodiscard]] Result<int> RetireSource(const std::string& source, const AccessContext& ctx) override {
    return index_.RetireSource(source, ctx);
  }

 private:
  MemoryIndex& index_;
};

}  // namespace steward::memory::ingest
