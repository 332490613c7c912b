#include "app/ingest_command.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "app/sse_client.hpp"

namespace steward::app {

namespace {

namespace fs = std::filesystem;

constexpr int kBarWidth = 20;

struct StreamState {
  const IngestCommandOptions* options = nullptr;
  bool tty = false;
  int columns = 80;
  std::string cwd;
  IngestCommandOutcome outcome;
  bool done = false;
  std::optional<Error> failure;
  bool bar_shown = false;
  int last_done = 0, last_total = 0;
  std::string last_path;
};

// `path` relative to the working directory when it is inside it (what the user typed, mostly).
std::string Shown(const StreamState& s, const std::string& path) {
  if (!s.cwd.empty() && path.size() > s.cwd.size() + 1 && path.compare(0, s.cwd.size(), s.cwd) == 0 &&
      path[s.cwd.size()] == '/') {
    return path.substr(s.cwd.size() + 1);
  }
  return path;
}

// Keeps the end of a long path: the file name is the informative part.
std::string FitLeft(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  if (width <= 1) return "";
  size_t start = text.size() - (width - 1);
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return "…" + text.substr(start);
}

void ClearBar(StreamState& s) {
  if (s.bar_shown) {
    std::fputs("\r\x1b[K", s.options->progress);
    s.bar_shown = false;
  }
}

void DrawBar(StreamState& s) {
  if (!s.tty || s.options->quiet) return;
  const int total = std::max(s.last_total, 1);
  const int filled = std::min(kBarWidth, s.last_done * kBarWidth / total);
  std::string line = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] " +
                     std::to_string(s.last_done) + "/" + std::to_string(s.last_total);
  const int room = s.columns - static_cast<int>(line.size()) - 2;
  if (!s.last_path.empty() && room > 8) line += " " + FitLeft(Shown(s, s.last_path), static_cast<size_t>(room));
  std::fprintf(s.options->progress, "\r%s\x1b[K", line.c_str());
  std::fflush(s.options->progress);
  s.bar_shown = true;
}

// One line about a file, above the bar on a terminal.
void FileLine(StreamState& s, const std::string& line) {
  ClearBar(s);
  std::fprintf(s.options->progress, "%s\n", line.c_str());
  DrawBar(s);
  std::fflush(s.options->progress);
}

std::string SummaryLine(const nlohmann::json& sum) {
  auto n = [&](const char* key) { return sum.value(key, 0); };
  std::string line = std::string(n("failed") > 0 ? "✗ " : "✓ ") + std::to_string(n("total")) + " files: " +
                     std::to_string(n("added")) + " added, " + std::to_string(n("updated")) + " updated, " +
                     std::to_string(n("unchanged")) + " unchanged, " + std::to_string(n("skipped")) + " skipped, " +
                     std::to_string(n("failed")) + " failed, " + std::to_string(n("deleted")) + " deleted";
  char tail[96];
  std::snprintf(tail, sizeof tail, "; %lld chunks embedded in %.1f s",
                static_cast<long long>(sum.value("embedded", int64_t{0})), sum.value("seconds", 0.0));
  line += tail;
  if (sum.value("cancelled", false)) line += " (stopped early)";
  return line;
}

void Render(StreamState& s, const models::detail::SseEvent& ev) {
  const nlohmann::json data = nlohmann::json::parse(ev.data, nullptr, false);
  if (data.is_discarded()) return;
  const IngestCommandOptions& o = *s.options;
  if (ev.event == "ingest_progress") {
    s.last_done = data.value("done", 0);
    s.last_total = data.value("total", 0);
    s.last_path = data.value("current_path", std::string());
    DrawBar(s);
  } else if (ev.event == "ingest_file") {
    const std::string status = data.value("status", std::string());
    const std::string path = Shown(s, data.value("path", std::string()));
    const std::string error = data.value("error", std::string());
    if (status == "failed") ++s.outcome.failed;
    const bool notable = status == "failed" || status == "skipped" || status == "deleted";
    if (s.tty) {
      if (!o.quiet || status == "failed") {
        if (notable) FileLine(s, (status == "failed" ? "✗ " : "· ") + path + " — " + (error.empty() ? status : error));
      }
    } else if (!o.quiet || status == "failed") {
      char label[16];
      std::snprintf(label, sizeof label, "%-9s", status.c_str());
      FileLine(s, std::string(label) + " " + path + (error.empty() ? "" : ": " + error));
    }
  } else if (ev.event == "done") {
    ClearBar(s);
    s.done = true;
    s.outcome.summary = data.value("summary", nlohmann::json::object());
    std::fprintf(o.out, "%s\n", SummaryLine(s.outcome.summary).c_str());
    std::fflush(o.out);
  } else if (ev.event == "error") {
    ClearBar(s);
    s.failure = MakeError(ErrorCode::kUnavailable, data.value("message", std::string("the ingest failed")),
                          data.value("code", std::string()));
  }
}

}  // namespace

Result<IngestCommandOutcome> RunIngest(const IngestCommandOptions& options) {
  StreamState state;
  state.options = &options;
  state.tty = options.tty >= 0 ? options.tty == 1 : isatty(fileno(options.progress)) == 1;
  if (state.tty) {
    winsize ws{};
    if (ioctl(fileno(options.progress), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) state.columns = ws.ws_col;
  }
  std::error_code ec;
  state.cwd = fs::current_path(ec).string();

  nlohmann::json body = {{"paths", nlohmann::json::array()}, {"recursive", options.recursive}};
  for (const std::string& p : options.paths) {
    // The server has no idea of this shell's working directory.
    body["paths"].push_back(fs::absolute(p, ec).lexically_normal().string());
  }
  if (!options.include.empty()) body["include"] = options.include;
  if (!options.exclude.empty()) body["exclude"] = options.exclude;
  auto response = PostForEvents({options.base_url, "/api/ingest", options.token, body.dump()},
                                [&](const models::detail::SseEvent& ev) { Render(state, ev); });
  ClearBar(state);
  if (!response.ok()) return response.error();
  if (!response->streamed) return ErrorFromAnswer(response->status, response->body, options.base_url + "/api/ingest");
  if (state.failure) return *state.failure;
  if (!state.done) return MakeError(ErrorCode::kUnavailable, "the stream ended before the ingest finished");
  return state.outcome;
}

}  // namespace steward::app
