#pragma once
// A temporary directory for tests, removed with everything in it on destruction.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace steward::memory::ingest::testing {

class TempDir final {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "steward-ingest-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // Writes `content` to `relative` (creating parent folders); returns the absolute path.
  std::string Write(const std::string& relative, const std::string& content) const {
    const std::filesystem::path p = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    return p.string();
  }

 private:
  std::string path_;
};

}  // namespace steward::memory::ingest::testing
