#pragma once
// memory.ingest in steward.yaml: the ingestion limits and the folders the crawler watches
// (parsed by app/detail/ingest_config.cpp).

#include <vector>

#include "memory/ingest/crawler.hpp"
#include "memory/ingest/ingester.hpp"

namespace steward::memory::ingest {

struct IngestConfig {
  IngestOptions options;
  std::vector<CrawlFolder> folders;  // empty: no crawler thread
};

}  // namespace steward::memory::ingest
