#pragma once
// Plain-text tables for the CLI commands (tools, approvals, schedules).

#include <string>
#include <vector>

namespace steward::app {

// Rows of cells, each column as wide as its widest cell plus two spaces; the last column is free
// (not padded), trailing spaces are trimmed, and every row ends with a newline.
[[nodiscard]] std::string TextTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace steward::app
