#include <spdlog/spdlog.h>

#include "engine/workflow_engine.hpp"
#include "gateway/api.hpp"
#include "gateway/sse.hpp"

namespace steward::gateway {

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kHeartbeatEvery = std::chrono::seconds(10);

int QueryInt(const ParsedTarget& target, std::string_view key, int fallback, int lo, int hi) {
  auto it = target.query.find(key);
  if (it == target.query.end()) return fallback;
  try {
    return std::clamp(std::stoi(it->second), lo, hi);
  } catch (const std::exception&) {
    return fallback;
  }
}

std::optional<std::string> OptionalString(const nlohmann::json& body, const char* field, ResponseWriter& writer) {
  if (!body.contains(field) || body[field].is_null()) return std::string();
  if (!body[field].is_string()) {
    writer.SendError(MakeError(ErrorCode::kInvalidArgument,
                               std::string("expected a string, got ") + body[field].type_name(), field));
    return std::nullopt;
  }
  return body[field].get<std::string>();
}
}  // namespace

Result<Principal> Authenticate(const ApiContext& ctx, const Request& request) {
  if (!ctx.ready.load(std::memory_order_acquire)) {
    return MakeError(ErrorCode::kUnavailable, "steward is starting; retry when /healthz reports ok");
  }
  return ctx.auth->Authenticate(request);
}

std::optional<Principal> RequirePrincipal(const ApiContext& ctx, const Request& request, ResponseWriter& writer) {
  auto principal = Authenticate(ctx, request);
  if (!principal.ok()) {
    writer.SendError(principal.error());
    return std::nullopt;
  }
  return std::move(*principal);
}

std::optional<nlohmann::json> RequireJsonObject(const Request& request, ResponseWriter& writer) {
  nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    writer.SendError(MakeError(ErrorCode::kInvalidArgument, "request body is not valid JSON", "body"));
    return std::nullopt;
  }
  if (!body.is_object()) {
    writer.SendError(MakeError(ErrorCode::kInvalidArgument,
                               std::string("expected a JSON object, got ") + body.type_name(), "body"));
    return std::nullopt;
  }
  return body;
}

bool PumpRun(engine::LiveRun& run, engine::ChatService& chat, ResponseWriter& writer,
             const std::function<bool(const engine::RunEvent&)>& on_event) {
  auto last_write = std::chrono::steady_clock::now();
  for (;;) {
    std::optional<engine::RunEvent> event = run.Next(kPollInterval);
    if (!event) {
      if (writer.PeerClosed()) break;
      if (std::chrono::steady_clock::now() - last_write > kHeartbeatEvery) {
        if (!writer.Write(": keep-alive\n\n")) break;
        last_write = std::chrono::steady_clock::now();
      }
      continue;
    }
    if (!on_event(*event)) break;
    last_write = std::chrono::steady_clock::now();
    if (event->terminal()) return true;
  }
  spdlog::info("run {}: client went away; cancelling", run.id());
  chat.Cancel(run.id());
  return false;
}

void RegisterChatRoutes(HttpServer& server, ApiContext& ctx) {
  // 200 only once the server accepts work, so "wait for /healthz" is a reliable start signal.
  server.Route(http::verb::get, "/healthz", [&ctx](const Request&, const PathParams&, ResponseWriter& w) {
    w.SendJson(ctx.ready.load(std::memory_order_acquire) ? http::status::ok : http::status::service_unavailable,
               ctx.health ? ctx.health() : nlohmann::json{{"status", "ok"}});
  });

  server.Route(http::verb::post, "/api/chat", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    auto principal = RequirePrincipal(ctx, req, w);
    if (!principal) return;
    if (!principal->owner()) {
      w.SendError(MakeError(ErrorCode::kPermissionDenied, "a run token cannot start chats", "Authorization"));
      return;
    }
    auto body = RequireJsonObject(req, w);
    if (!body) return;
    if (!body->contains("message") || !(*body)["message"].is_string()) {
      w.SendError(MakeError(ErrorCode::kInvalidArgument,
                            body->contains("message")
                                ? std::string("expected a string, got ") + (*body)["message"].type_name()
                                : "required field is missing: expected {\"message\": \"…\"}",
                            "message"));
      return;
    }
    for (const auto& [key, _] : body->items()) {
      if (key != "message" && key != "agent" && key != "session_id" && key != "source") {
        w.SendError(MakeError(ErrorCode::kInvalidArgument,
                              "unknown field \"" + key + "\" (expected message, agent, session_id)", key));
        return;
      }
    }
    engine::ChatTurnRequest turn;
    turn.message = (*body)["message"].get<std::string>();
    auto agent = OptionalString(*body, "agent", w);
    if (!agent) return;
    auto session = OptionalString(*body, "session_id", w);
    if (!session) return;
    auto source = OptionalString(*body, "source", w);
    if (!source) return;
    turn.agent = *agent;
    turn.session_id = *session;
    if (*source == "cli") turn.source = "cli";

    auto run = ctx.chat->Start(turn);
    if (!run.ok()) {
      w.SendError(run.error());
      return;
    }
    if (!w.StartStream(http::status::ok, "text/event-stream")) {
      ctx.chat->Cancel((*run)->id());
      return;
    }
    PumpRun(**run, *ctx.chat, w, [&w](const engine::RunEvent& e) { return w.Write(SseEvent(e.type, e.data)); });
    w.EndStream();
  });

  server.Route(http::verb::get, "/api/sessions", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    if (!RequirePrincipal(ctx, req, w)) return;
    const ParsedTarget target = ParseTarget(req.target());
    auto sessions = ctx.sessions->ListSessions(QueryInt(target, "limit", 50, 1, 500),
                                               QueryInt(target, "offset", 0, 0, 1 << 30));
    if (!sessions.ok()) return w.SendError(sessions.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : *sessions) out.push_back(memory::ToJson(s));
    w.SendJson(http::status::ok, {{"sessions", out}});
  });

  server.Route(http::verb::get, "/api/sessions/{id}",
               [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) {
                 if (!RequirePrincipal(ctx, req, w)) return;
                 auto session = ctx.sessions->GetSession(params.find("id")->second);
                 if (!session.ok()) return w.SendError(session.error());
                 w.SendJson(http::status::ok, memory::ToJson(*session));
               });

  server.Route(http::verb::get, "/api/sessions/{id}/messages",
               [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) {
                 if (!RequirePrincipal(ctx, req, w)) return;
                 const std::string& id = params.find("id")->second;
                 auto session = ctx.sessions->GetSession(id);
                 if (!session.ok()) return w.SendError(session.error());
                 const ParsedTarget target = ParseTarget(req.target());
                 auto messages = ctx.sessions->Messages(id, QueryInt(target, "limit", 1000, 1, 10000));
                 if (!messages.ok()) return w.SendError(messages.error());
                 nlohmann::json out = nlohmann::json::array();
                 for (const auto& m : *messages) out.push_back(memory::ToJson(m));
                 w.SendJson(http::status::ok, {{"session", memory::ToJson(*session)}, {"messages", out}});
               });

  server.Route(http::verb::post, "/api/runs/{id}/cancel",
               [&ctx](const Request& req, const PathParams& params, ResponseWriter& w) {
                 if (!RequirePrincipal(ctx, req, w)) return;
                 const std::string& id = params.find("id")->second;
                 // A workflow run this process drives (watched or not) stops at its next check.
                 if (ctx.workflows != nullptr && ctx.workflows->Cancel(id)) {
                   return w.SendJson(http::status::accepted, {{"run_id", id}, {"status", "cancelling"}});
                 }
                 if (!ctx.runs->FindById(id)) {
                   return w.SendError(MakeError(ErrorCode::kNotFound, "no live run with id " + id, "id"));
                 }
                 ctx.chat->Cancel(id);
                 w.SendJson(http::status::accepted, {{"run_id", id}, {"status", "cancelling"}});
               });
}

}  // namespace steward::gateway
