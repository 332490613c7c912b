// POST /api/ingest: ingest files and folders in the core process, streaming progress as SSE.
//
// Request  {"paths": ["/abs/file.pdf", "/abs/folder"], "recursive": true,
//           "include": ["*.md"], "exclude": ["drafts/*"]}
// Events   ingest_progress {done, total, current_path}
//          ingest_file     {path, status: added|updated|unchanged|skipped|failed|deleted,
//                           error?, item_id?, format?, chunks?, embedded?, notes?}
//          done            {summary: {total, added, …, failed, embedded, seconds}}
//          error           {code, message} (the run as a whole could not proceed)
// The stream ends with `done` even when files failed: a bad file is reported, never fatal.
// See docs/ingest.md.

#include <chrono>

#include <spdlog/spdlog.h>

#include "gateway/api.hpp"
#include "gateway/sse.hpp"
#include "memory/ingest/ingester.hpp"

namespace steward::gateway {

namespace {

using memory::ingest::IngestRequest;

// Parses the body into a request, or answers 400 naming the field; nullopt when it answered.
std::optional<IngestRequest> ParseRequest(const nlohmann::json& body, ResponseWriter& w) {
  auto fail = [&](const std::string& message, const std::string& field) {
    w.SendError(MakeError(ErrorCode::kInvalidArgument, message, field));
    return std::nullopt;
  };
  for (const auto& [key, _] : body.items()) {
    if (key != "paths" && key != "recursive" && key != "include" && key != "exclude") {
      return fail("unknown field \"" + key + "\" (expected paths, recursive, include, exclude)", key);
    }
  }
  IngestRequest request;
  request.origin = "api";
  auto strings = [&](const char* field, std::vector<std::string>& out, bool required) -> bool {
    if (!body.contains(field) || body[field].is_null()) {
      if (required) fail("required field is missing: expected {\"paths\": [\"/absolute/path\", …]}", field);
      return !required;
    }
    const auto& value = body[field];
    if (!value.is_array()) {
      fail(std::string("expected an array of strings, got ") + value.type_name(), field);
      return false;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string() || value[i].get<std::string>().empty()) {
        fail("expected a non-empty string", std::string(field) + "[" + std::to_string(i) + "]");
        return false;
      }
      out.push_back(value[i].get<std::string>());
    }
    return true;
  };
  if (!strings("paths", request.paths, true)) return std::nullopt;
  if (request.paths.empty()) return fail("expected at least one path", "paths");
  for (size_t i = 0; i < request.paths.size(); ++i) {
    if (request.paths[i][0] != '/') {
      return fail("expected an absolute path (the server does not know the client's working directory), got \"" +
                      request.paths[i] + "\"",
                  "paths[" + std::to_string(i) + "]");
    }
  }
  if (!strings("include", request.include, false)) return std::nullopt;
  if (!strings("exclude", request.exclude, false)) return std::nullopt;
  if (body.contains("recursive") && !body["recursive"].is_null()) {
    if (!body["recursive"].is_boolean()) {
      return fail(std::string("expected true or false, got ") + body["recursive"].type_name(), "recursive");
    }
    request.recursive = body["recursive"].get<bool>();
  }
  return request;
}

}  // namespace

void RegisterIngestRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::post, "/api/ingest", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    auto principal = RequirePrincipal(ctx, req, w);
    if (!principal) return;
    if (!principal->owner()) {
      // Reading arbitrary paths of the host is the owner's call, not an agent's.
      w.SendError(MakeError(ErrorCode::kPermissionDenied, "a run token cannot ingest files", "Authorization"));
      return;
    }
    if (ctx.ingest == nullptr) {
      w.SendError(MakeError(ErrorCode::kUnavailable, "ingestion is not available (memory is not configured)"));
      return;
    }
    auto body = RequireJsonObject(req, w);
    if (!body) return;
    auto request = ParseRequest(*body, w);
    if (!request) return;
    if (!w.StartStream(http::status::ok, "text/event-stream")) return;

    bool gone = false;
    auto send = [&](std::string_view type, const nlohmann::json& data) {
      if (!gone && !w.Write(SseEvent(type, data))) gone = true;
    };
    memory::ingest::IngestObserver observer;
    // At most ~10 progress events a second: a folder of small files must not flood the client,
    // but the first and last always go out.
    auto last_progress = std::chrono::steady_clock::time_point{};
    observer.progress = [&](int done, int total, const std::string& current) {
      const auto now = std::chrono::steady_clock::now();
      if (done != 0 && done != total && now - last_progress < std::chrono::milliseconds(100)) return;
      last_progress = now;
      send("ingest_progress", {{"done", done}, {"total", total}, {"current_path", current}});
    };
    observer.file = [&](const memory::ingest::FileReport& report) { send("ingest_file", ToJson(report)); };
    observer.cancelled = [&] { return gone || w.PeerClosed(); };
    observer.waiting = [&] {
      if (!gone && !w.Write(": waiting for another ingest to finish\n\n")) gone = true;
    };
    auto summary = ctx.ingest->Run(*request, observer);
    if (!summary.ok()) {
      send("error", {{"code", std::string(Describe(summary.error().code).name)}, {"message", summary.error().ToString()}});
    } else {
      send("done", {{"summary", ToJson(*summary)}});
    }
    if (gone) spdlog::info("ingest: client went away; the batch stopped at a file boundary");
    w.EndStream();
  });
}

}  // namespace steward::gateway
