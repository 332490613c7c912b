#include "memory/ingest/walker.hpp"

#include <algorithm>
#include <system_error>

#include "tools/glob.hpp"

namespace steward::memory::ingest {

namespace fs = std::filesystem;

namespace {

bool AnyMatches(const std::vector<std::string>& patterns, const std::string& relative) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return GlobMatchesPath(p, relative); });
}

void Walk(const fs::path& dir, const std::string& relative_dir, const WalkOptions& options, WalkResult& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) {
    out.problems.push_back({dir.string(), "cannot list directory: " + ec.message()});
    return;
  }
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      out.problems.push_back({dir.string(), "listing stopped early: " + ec.message()});
      break;
    }
    entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
  for (const fs::directory_entry& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (!options.include_hidden && !name.empty() && name[0] == '.') {
      ++out.ignored;
      continue;
    }
    const std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
    std::error_code type_ec;
    const bool is_link = entry.is_symlink(type_ec);
    const bool is_dir = !is_link && entry.is_directory(type_ec);
    if (is_dir) {
      if (AnyMatches(options.exclude, relative)) {
        ++out.ignored;
      } else if (options.recursive) {
        Walk(entry.path(), relative, options, out);
      }
      continue;
    }
    if (is_link && fs::is_directory(entry.path(), type_ec)) {
      ++out.ignored;  // symlinked directories could loop; name them explicitly to ingest them
      continue;
    }
    // Regular files, symlinks to files, broken symlinks, FIFOs and sockets with a document's
    // name: the last three are reported as unreadable rather than silently dropped.
    const Format format = FormatFromPath(name);
    if (!Selected(relative, format != Format::kUnknown, options)) {
      ++out.ignored;
      continue;
    }
    out.files.push_back({entry.path().string(), format});
  }
}

}  // namespace

bool GlobMatchesPath(const std::string& pattern, const std::string& relative) {
  if (pattern.find('/') != std::string::npos) return tools::GlobMatch(pattern, relative);
  const size_t slash = relative.rfind('/');
  return tools::GlobMatch(pattern, slash == std::string::npos ? relative : relative.substr(slash + 1));
}

bool Selected(const std::string& relative, bool supported_type, const WalkOptions& options) {
  if (AnyMatches(options.exclude, relative)) return false;
  if (options.include.empty()) return supported_type;
  return AnyMatches(options.include, relative);
}

WalkResult WalkDirectory(const fs::path& root, const WalkOptions& options) {
  WalkResult out;
  Walk(root, "", options, out);
  std::sort(out.files.begin(), out.files.end(),
            [](const WalkResult::File& a, const WalkResult::File& b) { return a.path < b.path; });
  return out;
}

}  // namespace steward::memory::ingest
