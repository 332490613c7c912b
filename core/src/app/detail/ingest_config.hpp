#pragma once
// memory.ingest of steward.yaml (memory/ingest/ingest_config.hpp).

#include "app/detail/config_reader.hpp"
#include "common/result.hpp"
#include "memory/ingest/ingest_config.hpp"

namespace steward::app::detail {

// Parses `ingest: {max_text_bytes, max_file_bytes, include_hidden, folders: [{path, recursive,
// interval_s, include: [glob], exclude: [glob]}]}`. Folder paths may start with "~/" ($HOME) and
// relative ones are resolved against the config file's directory.
[[nodiscard]] Status ParseIngestSection(const Field& f, memory::ingest::IngestConfig& out);

}  // namespace steward::app::detail
