#pragma once
// Finding the files to ingest under a folder: supported types, include/exclude globs, hidden
// entries skipped, symlinked directories not followed (no loops), in a stable sorted order.

#include <filesystem>
#include <string>
#include <vector>

#include "memory/ingest/extractors.hpp"

namespace steward::memory::ingest {

struct WalkOptions {
  bool recursive = true;
  bool include_hidden = false;
  std::vector<std::string> include;  // see IngestRequest
  std::vector<std::string> exclude;
};

struct WalkResult {
  struct File {
    std::string path;
    Format format = Format::kUnknown;  // from the name; kUnknown when chosen by an include glob
  };
  struct Problem {
    std::string path;
    std::string message;
  };
  std::vector<File> files;         // sorted by path
  std::vector<Problem> problems;   // directories that could not be listed
  int ignored = 0;                 // entries not selected (type or globs)
};

// Walks directory `root` (which must exist). Never throws; unreadable subdirectories become
// problems and the walk continues.
[[nodiscard]] WalkResult WalkDirectory(const std::filesystem::path& root, const WalkOptions& options);

// Whether a file at `relative` (to the walked root) passes the globs: not excluded, and
// included (an empty include list includes files of a supported type).
[[nodiscard]] bool Selected(const std::string& relative, bool supported_type, const WalkOptions& options);

// True iff a glob matches `relative` (patterns without '/' are matched against its last component).
[[nodiscard]] bool GlobMatchesPath(const std::string& pattern, const std::string& relative);

}  // namespace steward::memory::ingest
