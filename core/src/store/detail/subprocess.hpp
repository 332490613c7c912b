#pragma once
// Runs the PostgreSQL tools (initdb, pg_ctl) and captures what they print.

#include <string>
#include <vector>

#include "common/result.hpp"

namespace steward::store::detail {

struct CommandOutput {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string output;  // stdout and stderr interleaved
};

// Runs argv[0] (looked up in PATH) with argv, cwd "/", stdin from /dev/null and no file
// descriptors but 0-2 inherited, and waits for it. Errors only when the process cannot be
// started (kInternal); a non-zero exit is a successful CommandOutput. Thread-safe.
[[nodiscard]] Result<CommandOutput> RunCommand(const std::vector<std::string>& argv);

// The last `lines` non-empty lines of `text`, joined with "\n": the part of a tool's output
// that says why it failed.
[[nodiscard]] std::string Tail(const std::string& text, int lines = 8);

}  // namespace steward::store::detail
