#include "memory/ingest/ingester.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <spdlog/spdlog.h>

#include "memory/ingest/extractors.hpp"
#include "memory/ingest/file_reader.hpp"
#include "memory/ingest/text_decode.hpp"
#include "memory/ingest/walker.hpp"

namespace steward::memory::ingest {

namespace fs = std::filesystem;

namespace {

// A document's own dates become the item's times only when PostgreSQL is sure to read them the
// same way; "May 2021" from front matter stays in metadata only.
bool IsIsoDate(const std::string& s) {
  static const std::regex kIso(R"(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)");
  return std::regex_match(s, kIso);
}

bool HoldsItem(const LedgerRow& row) {
  return !row.deleted && row.item_id.has_value() &&
         (row.status == "added" || row.status == "updated" || row.status == "unchanged");
}

// One walked root: what the ledger knew under it, and what this run saw.
struct Root {
  std::string path;
  bool directory = false;
  bool recursive = true;
  std::map<std::string, LedgerRow> known;  // live ledger rows under a directory root
};

struct Candidate {
  std::string path;
  Format format = Format::kUnknown;
  bool named = false;  // given explicitly (not found by a walk)
  Root* root = nullptr;
};

// A document read and extracted, waiting for the next UpsertBatch.
struct Pending {
  FileReport report;
  LedgerRow row;
  bool existed = false;  // the ledger held an item for this path
  ItemInput item;
};

}  // namespace

const char* ToString(FileStatus status) {
  switch (status) {
    case FileStatus::kAdded: return "added";
    case FileStatus::kUpdated: return "updated";
    case FileStatus::kUnchanged: return "unchanged";
    case FileStatus::kSkipped: return "skipped";
    case FileStatus::kFailed: return "failed";
    case FileStatus::kDeleted: return "deleted";
  }
  return "failed";
}

nlohmann::json ToJson(const FileReport& r) {
  nlohmann::json out = {{"path", r.path}, {"status", ToString(r.status)}};
  if (!r.error.empty()) out["error"] = r.error;
  if (r.item_id != 0) out["item_id"] = r.item_id;
  if (!r.format.empty()) out["format"] = r.format;
  if (r.chunks != 0) out["chunks"] = r.chunks;
  if (r.embedded != 0) out["embedded"] = r.embedded;
  if (!r.notes.empty()) out["notes"] = r.notes;
  return out;
}

nlohmann::json ToJson(const IngestSummary& s) {
  return {{"total", s.total},         {"added", s.added},     {"updated", s.updated},
          {"unchanged", s.unchanged}, {"skipped", s.skipped}, {"failed", s.failed},
          {"deleted", s.deleted},     {"ignored", s.ignored}, {"chunks", s.chunks},
          {"embedded", s.embedded},   {"bytes", s.bytes},     {"cancelled", s.cancelled},
          {"seconds", s.seconds}};
}

// The state of one Run: reports flow out through the observer as outcomes become final.
class Ingester::Batch final {
 public:
  Batch(Ingester& owner, const IngestRequest& request, const IngestObserver& observer)
      : owner_(owner), request_(request), observer_(observer) {
    ctx_.principal = "ingest";
  }

  Result<IngestSummary> Run();

 private:
  Status Collect();
  void Process(const Candidate& c);
  void Flush();
  void FindDeletions(const Root& root, const std::set<std::string>& walked,
                     const std::vector<std::string>& unlisted);
  void Delete(const LedgerRow& row);
  void Report(FileReport report, const LedgerRow* row);
  [[nodiscard]] bool Cancelled() const { return observer_.cancelled && observer_.cancelled(); }

  Ingester& owner_;
  const IngestRequest& request_;
  const IngestObserver& observer_;
  AccessContext ctx_;
  std::vector<std::unique_ptr<Root>> roots_;
  std::vector<Candidate> candidates_;
  std::vector<FileReport> walk_problems_;
  std::vector<LedgerRow> deletions_;  // known files that are gone, retired at the end
  std::set<std::string> deletion_paths_;  // overlapping roots must not delete a file twice
  std::vector<Pending> pending_;
  size_t pending_bytes_ = 0;
  IngestSummary summary_;
  int done_ = 0;
};

void Ingester::Batch::Report(FileReport report, const LedgerRow* row) {
  if (row != nullptr) {
    if (Status s = owner_.ledger_.Record(*row); !s.ok()) {
      // The document itself is stored; only the skip-by-hash shortcut is lost for this file.
      spdlog::warn("ingest: recording {} in ingested_file failed: {}", row->path, s.error().ToString());
      report.notes.push_back("not recorded in the ingest ledger: " + s.error().message);
    }
  }
  switch (report.status) {
    case FileStatus::kAdded: ++summary_.added; break;
    case FileStatus::kUpdated: ++summary_.updated; break;
    case FileStatus::kUnchanged: ++summary_.unchanged; break;
    case FileStatus::kSkipped: ++summary_.skipped; break;
    case FileStatus::kFailed: ++summary_.failed; break;
    case FileStatus::kDeleted: ++summary_.deleted; break;
  }
  summary_.chunks += report.chunks;
  summary_.embedded += report.embedded;
  if (report.status == FileStatus::kFailed) {
    spdlog::info("ingest: {} failed: {}", report.path, report.error);
  }
  if (observer_.file) observer_.file(report);
}

Status Ingester::Batch::Collect() {
  WalkOptions walk;
  walk.recursive = request_.recursive;
  walk.include_hidden = owner_.options_.include_hidden;
  walk.include = request_.include;
  walk.exclude = request_.exclude;
  std::set<std::string> queued;
  for (const std::string& raw : request_.paths) {
    // Lexically normal, no trailing slash: the ledger key must not depend on how it was typed.
    std::string path = fs::path(raw).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    auto root = std::make_unique<Root>();
    root->path = path;
    root->recursive = request_.recursive;
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(path, ec);
    const bool is_dir = fs::is_directory(path, ec);  // follows a symlink named on purpose
    if (is_dir) {
      root->directory = true;
      auto known = owner_.ledger_.LiveUnder(path, request_.recursive);
      if (!known.ok()) return known.error();
      root->known = std::move(*known);
      WalkResult found = WalkDirectory(path, walk);
      summary_.ignored += found.ignored;
      std::vector<std::string> unlisted;
      for (auto& problem : found.problems) {
        unlisted.push_back(problem.path);
        walk_problems_.push_back({problem.path, FileStatus::kFailed, problem.message, 0, "", 0, 0, {}});
      }
      std::set<std::string> walked;
      for (auto& file : found.files) {
        walked.insert(file.path);
        if (!queued.insert(file.path).second) continue;
        candidates_.push_back({file.path, file.format, false, root.get()});
      }
      FindDeletions(*root, walked, unlisted);
    } else if (!fs::exists(status) && !fs::is_symlink(status)) {
      // A vanished file the ledger knows is a deletion; a vanished folder is reported, never
      // treated as "everything inside was deleted" (an unmounted disk must not wipe memory).
      auto row = owner_.ledger_.Get(path);
      if (!row.ok()) return row.error();
      if (*row && !(*row)->deleted) {
        if (deletion_paths_.insert(path).second) deletions_.push_back(**row);
      } else {
        walk_problems_.push_back({path, FileStatus::kFailed, "no such file or directory", 0, "", 0, 0, {}});
      }
    } else if (queued.insert(path).second) {
      candidates_.push_back({path, FormatFromPath(path), true, root.get()});
    }
    roots_.push_back(std::move(root));
  }
  summary_.total = static_cast<int>(candidates_.size() + walk_problems_.size() + deletions_.size());
  return Status::Ok();
}

void Ingester::Batch::Process(const Candidate& c) {
  const IngestOptions& opt = owner_.options_;
  FileReport report;
  report.path = c.path;
  Format format = c.format;
  std::optional<LedgerRow> previous;
  if (auto it = c.root->known.find(c.path); it != c.root->known.end()) {
    previous = it->second;
  } else if (auto got = owner_.ledger_.Get(c.path); got.ok()) {
    previous = std::move(*got);
  }
  const bool existed = previous && HoldsItem(*previous);
  // Failures keep the item the path produced before, so a later deletion still retires it.
  LedgerRow row;
  row.path = c.path;
  row.status = "failed";
  if (previous && !previous->deleted) {
    row.item_id = previous->item_id;
    row.content_hash = previous->content_hash;
  }
  const auto fail = [&](std::string error) {
    report.status = FileStatus::kFailed;
    report.error = std::move(error);
    row.status = "failed";
    row.error = report.error;
    Report(std::move(report), &row);
  };
  // Whole-file formats need every byte; the others are read as a prefix with room for markup
  // and multi-byte encodings around max_text_bytes of text.
  const size_t keep = NeedsWholeFile(format) ? opt.max_file_bytes + 1 : std::max(opt.max_text_bytes * 2, size_t{64} << 10);
  auto file = ReadFileCapped(c.path, keep);
  if (!file.ok()) return fail(file.error().message);
  summary_.bytes += static_cast<int64_t>(file->size);
  row.content_hash = file->sha256;
  row.size = static_cast<int64_t>(file->size);
  row.mtime_s = file->mtime_s;

  if (file->size == 0) {
    report.status = FileStatus::kSkipped;
    report.error = "empty file: nothing to index";
    if (existed) {
      // Emptied: the old text no longer holds, but the item stays for history.
      (void)owner_.sink_.RetireSource(c.path, ctx_);
      report.notes.push_back("the previous version was retired");
    }
    row.item_id.reset();
    row.status = "skipped";
    row.error = report.error;
    return Report(std::move(report), &row);
  }
  if (existed && previous->content_hash == file->sha256) {
    report.status = FileStatus::kUnchanged;
    report.item_id = *previous->item_id;
    row.status = "unchanged";
    row.item_id = previous->item_id;
    return Report(std::move(report), &row);
  }

  format = SniffFormat(format, std::string_view(file->bytes).substr(0, 8));
  if (format == Format::kUnknown) {
    // Named explicitly or chosen by an include glob: read it as text if it is text.
    if (LooksBinary(file->bytes)) {
      return fail("unsupported file type (expected .md, .txt, .html, .pdf, .docx, .csv or .json)");
    }
    format = Format::kText;
  }
  report.format = std::string(FormatName(format));
  if (NeedsWholeFile(format) && file->cut && !NeedsWholeFile(c.format)) {
    // Named like text but a PDF/zip inside: only the whole file will do.
    auto whole = ReadFileCapped(c.path, opt.max_file_bytes + 1);
    if (!whole.ok()) return fail(whole.error().message);
    file = std::move(whole);
  }
  if (NeedsWholeFile(format) && file->cut) {
    return fail("file is " + std::to_string(file->size) + " bytes, more than memory.ingest.max_file_bytes (" +
                std::to_string(opt.max_file_bytes) + ") for a " + report.format + " file");
  }

  ExtractOptions extract;
  extract.max_text_bytes = opt.max_text_bytes;
  extract.input_was_cut = file->cut;
  auto doc = Extract(format, file->bytes, extract);
  file->bytes = std::string();  // release before the next file is read
  if (!doc.ok()) return fail(doc.error().message);
  report.notes = doc->notes;
  if (doc->text.find_first_not_of(" \t\r\n") == std::string::npos) {
    report.status = FileStatus::kSkipped;
    report.error = doc->notes.empty() ? "no text to index" : "no text to index: " + doc->notes.back();
    row.status = "skipped";
    row.error = report.error;
    return Report(std::move(report), &row);
  }

  const std::string file_mtime = IsoUtcSeconds(file->mtime_s);
  ItemInput item;
  item.type = "document";
  item.title = doc->title.empty() ? fs::path(c.path).filename().string() : doc->title;
  item.source = c.path;
  item.content_hash = file->sha256;
  item.created_at = IsIsoDate(doc->created) ? doc->created : file_mtime;
  item.updated_at = IsIsoDate(doc->modified) ? doc->modified : file_mtime;
  nlohmann::json meta = doc->extra;
  meta["path"] = c.path;
  meta["file_name"] = fs::path(c.path).filename().string();
  meta["size"] = file->size;
  meta["mime"] = std::string(FormatMime(format));
  meta["format"] = report.format;
  meta["content_hash"] = file->sha256;
  meta["file_mtime"] = file_mtime;
  if (!doc->title.empty()) meta["title"] = doc->title;
  if (!doc->author.empty()) meta["author"] = doc->author;
  if (!doc->created.empty()) meta["created"] = doc->created;
  if (!doc->modified.empty()) meta["modified"] = doc->modified;
  // One date key for "documents from March" filters: the document's own date when it has one.
  meta["date"] = IsIsoDate(doc->created) ? doc->created : (IsIsoDate(doc->modified) ? doc->modified : file_mtime);
  if (!doc->notes.empty()) meta["notes"] = doc->notes;
  item.metadata = std::move(meta);
  item.content = std::move(doc->text);

  pending_bytes_ += item.content.size();
  pending_.push_back({std::move(report), std::move(row), existed, std::move(item)});
  if (pending_.size() >= opt.batch_items || pending_bytes_ >= opt.batch_bytes) Flush();
}

void Ingester::Batch::Flush() {
  if (pending_.empty()) return;
  std::vector<ItemInput> items;
  items.reserve(pending_.size());
  for (Pending& p : pending_) items.push_back(std::move(p.item));
  std::vector<Result<IndexedItem>> results = owner_.sink_.UpsertBatch(items, ctx_);
  for (size_t i = 0; i < pending_.size(); ++i) {
    Pending& p = pending_[i];
    if (i >= results.size() || !results[i].ok()) {
      p.report.status = FileStatus::kFailed;
      p.report.error = i >= results.size() ? "the memory index returned no result for this document"
                                           : "storing in memory failed: " + results[i].error().ToString();
      p.row.status = "failed";
      p.row.error = p.report.error;
      Report(std::move(p.report), &p.row);
      continue;
    }
    const IndexedItem& indexed = results[i].value();
    p.report.item_id = indexed.id;
    p.report.chunks = indexed.chunks;
    p.report.embedded = indexed.embedded;
    switch (indexed.outcome) {
      case IndexOutcome::kAdded:
        p.report.status = p.existed ? FileStatus::kUpdated : FileStatus::kAdded;
        break;
      case IndexOutcome::kReplaced: p.report.status = FileStatus::kUpdated; break;
      case IndexOutcome::kUnchanged: p.report.status = FileStatus::kUnchanged; break;
    }
    p.row.item_id = indexed.id;
    p.row.status = ToString(p.report.status);
    Report(std::move(p.report), &p.row);
  }
  pending_.clear();
  pending_bytes_ = 0;
}

void Ingester::Batch::FindDeletions(const Root& root, const std::set<std::string>& walked,
                                    const std::vector<std::string>& unlisted) {
  for (const auto& [path, row] : root.known) {
    if (walked.count(path) != 0) continue;
    const bool under_unlisted = std::any_of(unlisted.begin(), unlisted.end(), [&](const std::string& dir) {
      return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
    });
    if (under_unlisted) continue;
    std::error_code ec;
    // Still there but no longer selected (a glob changed, or it became hidden): only a file
    // that is gone counts as deleted.
    if (fs::exists(fs::symlink_status(path, ec))) continue;
    if (deletion_paths_.insert(path).second) deletions_.push_back(row);
  }
}

void Ingester::Batch::Delete(const LedgerRow& row) {
  FileReport report;
  report.path = row.path;
  report.status = FileStatus::kDeleted;
  report.item_id = row.item_id.value_or(0);
  if (row.item_id) {
    auto retired = owner_.sink_.RetireSource(row.path, ctx_);
    if (!retired.ok()) {
      report.status = FileStatus::kFailed;
      report.error = "file is gone but retiring its memory item failed: " + retired.error().ToString();
      return Report(std::move(report), nullptr);
    }
  }
  LedgerRow gone = row;
  gone.status = "deleted";
  gone.error.clear();
  Report(std::move(report), &gone);
}

Result<IngestSummary> Ingester::Batch::Run() {
  const auto t0 = std::chrono::steady_clock::now();
  STEWARD_RETURN_IF_ERROR(Collect());
  for (FileReport& problem : walk_problems_) {
    ++done_;
    Report(std::move(problem), nullptr);
  }
  for (const Candidate& c : candidates_) {
    if (Cancelled()) {
      summary_.cancelled = true;
      break;
    }
    if (observer_.progress) observer_.progress(done_, summary_.total, c.path);
    Process(c);
    ++done_;
  }
  Flush();
  for (const LedgerRow& row : deletions_) {
    if (summary_.cancelled || Cancelled()) {
      summary_.cancelled = true;
      break;
    }
    if (observer_.progress) observer_.progress(done_, summary_.total, row.path);
    Delete(row);
    ++done_;
  }
  if (observer_.progress) observer_.progress(done_, summary_.total, "");
  summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary_;
}

Ingester::Ingester(store::Database& db, DocumentSink& sink, IngestOptions options)
    : db_(db), sink_(sink), ledger_(db), options_(options) {}

Result<IngestSummary> Ingester::Run(const IngestRequest& request, const IngestObserver& observer) {
  if (request.paths.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no paths to ingest (expected at least one file or folder)",
                     "paths");
  }
  for (const std::string& path : request.paths) {
    if (path.empty() || path[0] != '/') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "expected an absolute path, got \"" + path + "\" (the server does not know your working directory)",
                       "paths");
    }
  }
  std::unique_lock lock(run_mu_, std::defer_lock);
  while (!lock.try_lock_for(std::chrono::seconds(1))) {
    if (observer.cancelled && observer.cancelled()) {
      return MakeError(ErrorCode::kCancelled, "cancelled while another ingest was running");
    }
    if (observer.waiting) observer.waiting();
  }
  Batch batch(*this, request, observer);
  auto summary = batch.Run();
  if (summary.ok()) {
    spdlog::info("ingest ({}): {} files: {} added, {} updated, {} unchanged, {} skipped, {} failed, {} deleted; "
                 "{} chunks embedded in {:.1f} s",
                 request.origin, summary->total, summary->added, summary->updated, summary->unchanged,
                 summary->skipped, summary->failed, summary->deleted, summary->embedded, summary->seconds);
  }
  return summary;
}

}  // namespace steward::memory::ingest
