// /v1: the OpenAI-compatible surface. `model` names either a configured model (a direct call
// through the model gateway; this is what workers use) or an agent (a full chat turn, so chat
// UIs like Open WebUI talk to Steward's agents unchanged).

#include <ctime>

#include "engine/run_registry.hpp"
#include "gateway/api.hpp"
#include "gateway/sse.hpp"
#include "models/openai_wire.hpp"

namespace steward::gateway {

namespace {

using models::Json;

void SendOpenAiError(ResponseWriter& w, const Error& error) {
  w.SendJson(static_cast<http::status>(Describe(error.code).http_status), models::OpenAiErrorJson(error));
}

std::string CompletionId() { return "chatcmpl-" + engine::RandomHex(12); }

std::string TextOf(const Json& content) { return content.is_string() ? content.get<std::string>() : std::string(); }

// An OpenAI conversation becomes a chat turn: the last user message is the new message, the
// user/assistant messages before it the history. The client's system prompt is dropped: the
// agent has its own.
Result<engine::ChatTurnRequest> TurnFromMessages(const models::ChatCompletionCall& call) {
  const Json& messages = call.request.messages;
  const Json& last = messages.back();
  if (last["role"] != "user") {
    return MakeError(ErrorCode::kInvalidArgument, "the last message must be from the user when model is an agent",
                     "messages[" + std::to_string(messages.size() - 1) + "].role");
  }
  engine::ChatTurnRequest turn;
  turn.agent = call.model;
  turn.message = TextOf(last["content"]);
  turn.source = "openai";
  Json history = Json::array();
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    const std::string role = messages[i]["role"];
    if (role == "user" || role == "assistant") {
      history.push_back({{"role", role}, {"content", TextOf(messages[i]["content"])}});
    }
  }
  turn.history = std::move(history);
  return turn;
}

void AgentCompletion(ApiContext& ctx, const models::ChatCompletionCall& call, ResponseWriter& w) {
  auto turn = TurnFromMessages(call);
  if (!turn.ok()) return SendOpenAiError(w, turn.error());
  auto started = ctx.chat->Start(*turn);
  if (!started.ok()) return SendOpenAiError(w, started.error());
  engine::LiveRun& run = **started;
  const std::string id = CompletionId();
  const int64_t created = std::time(nullptr);

  if (!call.stream) {
    std::string text;
    std::optional<Error> failure;
    Json usage;
    PumpRun(run, *ctx.chat, w, [&](const engine::RunEvent& e) {
      if (e.type == "token") text += e.data.value("text", "");
      if (e.type == "done") usage = e.data["usage"];
      if (e.type == "error") {
        failure = MakeError(e.data.value("code", "") == "cancelled" ? ErrorCode::kCancelled : ErrorCode::kUnavailable,
                            e.data.value("message", "the run failed"));
      }
      return true;
    });
    if (failure) return SendOpenAiError(w, *failure);
    if (usage.is_null()) return;  // the client went away
    models::ChatResult result;
    result.content = text;
    result.usage.prompt_tokens = usage.value("prompt_tokens", 0);
    result.usage.completion_tokens = usage.value("completion_tokens", 0);
    Json body = models::CompletionJson(id, call.model, created, result);
    body["steward"] = {{"run_id", run.id()}, {"session_id", run.identity().session_id}};
    return w.SendJson(http::status::ok, body);
  }

  if (!w.StartStream(http::status::ok, "text/event-stream")) return ctx.chat->Cancel(run.id());
  w.Write(SseData(models::RoleChunkJson(id, call.model, created).dump()));
  PumpRun(run, *ctx.chat, w, [&](const engine::RunEvent& e) {
    if (e.type == "token") {
      models::ChatChunk chunk;
      chunk.content = e.data.value("text", "");
      return w.Write(SseData(models::ChunkJson(id, call.model, created, chunk).dump()));
    }
    if (e.type == "done") {
      models::ChatChunk last;
      last.finish_reason = "stop";
      bool ok = w.Write(SseData(models::ChunkJson(id, call.model, created, last).dump()));
      if (call.include_usage) {
        const Json& u = e.data["usage"];
        models::Usage usage{u.value("prompt_tokens", int64_t{0}), u.value("completion_tokens", int64_t{0})};
        ok = ok && w.Write(SseData(models::UsageChunkJson(id, call.model, created, usage).dump()));
      }
      return ok && w.Write(SseData("[DONE]"));
    }
    if (e.type == "error") {
      const Error error = MakeError(ErrorCode::kUnavailable, e.data.value("message", "the run failed"));
      return w.Write(SseData(models::OpenAiErrorJson(error).dump())) && w.Write(SseData("[DONE]"));
    }
    return true;  // status and tool events have no place in the OpenAI stream
  });
  w.EndStream();
}

void ModelCompletion(ApiContext& ctx, const Principal& principal, models::ChatCompletionCall call,
                     const telemetry::SpanContext& trace_parent, ResponseWriter& w) {
  models::ModelCallContext attribution;
  attribution.trace_parent = trace_parent;
  if (principal.run) {
    std::shared_ptr<engine::LiveRun> run = principal.run;
    attribution.run_id = run->id();
    attribution.on_usage = [run](const models::Usage& usage, double cost_usd) {
      engine::RunCounters& c = run->counters();
      c.model_calls += 1;
      c.prompt_tokens += usage.prompt_tokens;
      c.completion_tokens += usage.completion_tokens;
      c.cost_nano_usd += static_cast<int64_t>(cost_usd * 1e9);
    };
    // Budget warnings and approvals reach the run's watchers; a call waiting for budget gives
    // up when its run ends.
    attribution.emit = [run](std::string_view type, const Json& data) { run->Emit(std::string(type), data); };
    attribution.cancelled = [run] { return run->cancel_requested() || run->finished(); };
  }
  const std::string id = CompletionId();
  const int64_t created = std::time(nullptr);

  if (!call.stream) {
    auto result = ctx.models->Complete(call.model, std::move(call.request), nullptr, attribution);
    if (!result.ok()) return SendOpenAiError(w, result.error());
    return w.SendJson(http::status::ok, models::CompletionJson(id, call.model, created, *result));
  }

  // The stream starts with the first chunk, so an error before any output (unknown model,
  // provider down, budget) still reaches the client as an HTTP status it can act on.
  bool started = false;
  auto start = [&]() {
    started = true;
    return w.StartStream(http::status::ok, "text/event-stream") &&
           w.Write(SseData(models::RoleChunkJson(id, call.model, created).dump()));
  };
  auto result = ctx.models->Complete(call.model, std::move(call.request),
                                     [&](const models::ChatChunk& chunk) {
                                       if (!started && !start()) return false;
                                       return w.Write(SseData(models::ChunkJson(id, call.model, created, chunk).dump()));
                                     },
                                     attribution);
  if (!result.ok()) {
    if (!started) return SendOpenAiError(w, result.error());
    w.Write(SseData(models::OpenAiErrorJson(result.error()).dump()));
    w.Write(SseData("[DONE]"));
    return w.EndStream();
  }
  if (!started && !start()) return;
  if (call.include_usage) w.Write(SseData(models::UsageChunkJson(id, call.model, created, result->usage).dump()));
  w.Write(SseData("[DONE]"));
  w.EndStream();
}

}  // namespace

void RegisterOpenAiRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/v1/models", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    auto principal = Authenticate(ctx, req);
    if (!principal.ok()) return SendOpenAiError(w, principal.error());
    Json data = Json::array();
    for (const auto& [name, agent] : ctx.chat->options().agents) {
      data.push_back({{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", "steward"},
                      {"steward", {{"kind", "agent"}, {"runner", agent.runner}, {"model", agent.model},
                                   {"description", agent.description}}}});
    }
    for (const auto& route : ctx.models->Models()) {
      data.push_back({{"id", route.name}, {"object", "model"}, {"created", 0}, {"owned_by", route.provider},
                      {"steward", {{"kind", "model"}, {"provider", route.provider}, {"upstream", route.upstream_model}}}});
    }
    w.SendJson(http::status::ok, {{"object", "list"}, {"data", data}});
  });

  server.Route(http::verb::post, "/v1/chat/completions",
               [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
                 auto principal = Authenticate(ctx, req);
                 if (!principal.ok()) return SendOpenAiError(w, principal.error());
                 Json body = Json::parse(req.body(), nullptr, false);
                 if (body.is_discarded()) {
                   return SendOpenAiError(w, MakeError(ErrorCode::kInvalidArgument, "request body is not valid JSON",
                                                       "body"));
                 }
                 auto call = models::ParseChatCompletion(body);
                 if (!call.ok()) return SendOpenAiError(w, call.error());
                 if (ctx.chat->options().agents.count(call->model)) {
                   if (!principal->owner()) {
                     return SendOpenAiError(w, MakeError(ErrorCode::kPermissionDenied,
                                                         "a run cannot start another agent's run", "model"));
                   }
                   return AgentCompletion(ctx, *call, w);
                 }
                 ModelCompletion(ctx, *principal, std::move(*call), TraceParentFor(req, *principal), w);
               });
}

}  // namespace steward::gateway
