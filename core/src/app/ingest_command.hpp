#pragma once
// `steward ingest PATH…`: sends the paths to the server (POST /api/ingest) and renders the
// stream: a progress bar on a terminal, one line per file otherwise, then a summary.

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::app {

struct IngestCommandOptions {
  std::string base_url;  // http://127.0.0.1:8377
  std::string token;
  std::vector<std::string> paths;  // as typed; relative ones are made absolute against the cwd
  bool recursive = true;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool quiet = false;  // only failures and the summary
  FILE* out = stdout;       // the summary line
  FILE* progress = stderr;  // the bar or the per-file lines
  int tty = -1;             // 1/0 forces the terminal rendering on/off; -1: isatty(progress)
};

struct IngestCommandOutcome {
  nlohmann::json summary;  // the `done` event's summary
  int failed = 0;          // files reported failed
};

// Runs one ingest and renders it. `steward ingest` exits 1 when outcome.failed > 0 (the batch
// still completed). Errors: the server's answer to a bad request (kInvalidArgument…),
// kUnavailable (no server, stream cut before `done`).
[[nodiscard]] Result<IngestCommandOutcome> RunIngest(const IngestCommandOptions& options);

}  // namespace steward::app
