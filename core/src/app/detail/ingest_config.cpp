#include "app/detail/ingest_config.hpp"

#include <filesystem>

namespace steward::app::detail {

namespace {

namespace fs = std::filesystem;

constexpr int kMaxBytes = 1 << 30;

Status ParseFolder(const Field& f, memory::ingest::CrawlFolder& folder) {
  static const Keys kKeys = {"path", "recursive", "interval_s", "include", "exclude"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  if (!f.present() || !f.node.IsMap()) return f.Fail("expected a mapping with keys path, recursive, interval_s, include, exclude");
  const Field path = m->Get("path");
  if (!path.present()) return f.Fail("a crawled folder needs path, e.g. path: ~/notes");
  std::string raw;
  STEWARD_RETURN_IF_ERROR(GetString(path, raw));
  if (raw == "~" || raw.rfind("~/", 0) == 0) {
    auto home = f.ctx->env != nullptr ? (*f.ctx->env)("HOME") : std::nullopt;
    if (!home || home->empty()) return path.Fail("cannot expand ~: HOME is not set; write an absolute path");
    raw = *home + raw.substr(1);
  }
  fs::path p(raw);
  if (p.is_relative()) p = f.ctx->base_dir / p;
  folder.path = p.lexically_normal().string();
  while (folder.path.size() > 1 && folder.path.back() == '/') folder.path.pop_back();

  const Field recursive = m->Get("recursive");
  if (recursive.present()) {
    Result<Scalar> s = ReadScalar(recursive, "true or false");
    if (!s.ok()) return s.error();
    if (s->value == "true") folder.recursive = true;
    else if (s->value == "false") folder.recursive = false;
    else return recursive.Fail("expected true or false, got " + Quote(s->shown));
  }
  int interval_s = 3600;
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("interval_s"), 10, 7 * 24 * 3600, interval_s));
  folder.interval = std::chrono::seconds(interval_s);
  STEWARD_RETURN_IF_ERROR(GetStringList(m->Get("include"), folder.include));
  STEWARD_RETURN_IF_ERROR(GetStringList(m->Get("exclude"), folder.exclude));
  return Status::Ok();
}

}  // namespace

Status ParseIngestSection(const Field& f, memory::ingest::IngestConfig& out) {
  static const Keys kKeys = {"max_text_bytes", "max_file_bytes", "include_hidden", "folders"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  int max_text = static_cast<int>(out.options.max_text_bytes);
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("max_text_bytes"), 1024, kMaxBytes, max_text));
  out.options.max_text_bytes = static_cast<size_t>(max_text);
  int max_file = static_cast<int>(out.options.max_file_bytes);
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("max_file_bytes"), 1024, kMaxBytes, max_file));
  out.options.max_file_bytes = static_cast<size_t>(max_file);
  const Field hidden = m->Get("include_hidden");
  if (hidden.present()) {
    Result<Scalar> s = ReadScalar(hidden, "true or false");
    if (!s.ok()) return s.error();
    if (s->value != "true" && s->value != "false") return hidden.Fail("expected true or false, got " + Quote(s->shown));
    out.options.include_hidden = s->value == "true";
  }
  const Field folders = m->Get("folders");
  if (!folders.present()) return Status::Ok();
  if (!folders.node.IsSequence()) {
    return folders.Fail("expected a list of folders, e.g. [{path: ~/notes, interval_s: 3600}]");
  }
  out.folders.clear();
  for (size_t i = 0; i < folders.node.size(); ++i) {
    const YAML::Node item = folders.node[i];
    const Field element{folders.ctx, folders.path + "[" + std::to_string(i) + "]", item, item.Mark()};
    memory::ingest::CrawlFolder folder;
    STEWARD_RETURN_IF_ERROR(ParseFolder(element, folder));
    for (const auto& other : out.folders) {
      if (other.path == folder.path) return element.Fail("folder " + Quote(folder.path) + " is listed twice");
    }
    out.folders.push_back(std::move(folder));
  }
  return Status::Ok();
}

}  // namespace steward::app::detail
