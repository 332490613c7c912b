#include "engine/chat_service.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "engine/confidence.hpp"
#include "engine/tool_snapshot.hpp"
#include "memory/session_store.hpp"
#include "telemetry/instruments.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/tracer.hpp"
#include "telemetry/worker_spans.hpp"
#include "tools/tool_gap.hpp"

namespace steward::engine {

namespace {
constexpr size_t kMaxMessageBytes = 200 * 1024;
constexpr size_t kTitleChars = 80;

// Milliseconds from the run's start to its first progress event and first token (null: none).
nlohmann::json MillisOrNull(const std::atomic<int64_t>& us) {
  const int64_t v = us.load();
  return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<double>(v) / 1e3);
}

// What every finished run records in run.stats, whatever its outcome (success metrics read it).
nlohmann::json OutcomeStats(RunCounters& c) {
  return {{"tool_calls", c.tool_calls.load()},
          {"tool_errors", c.tool_errors.load()},
          {"first_progress_ms", MillisOrNull(c.first_progress_us)},
          {"first_token_ms", MillisOrNull(c.first_token_us)}};
}

std::string TitleFrom(const std::string& message) {
  std::string title = message.substr(0, message.find('\n'));
  if (title.size() > kTitleChars) {
    title.resize(kTitleChars);
    // Don't cut a UTF-8 sequence in half.
    while (!title.empty() && (static_cast<unsigned char>(title.back()) & 0xC0) == 0x80) title.pop_back();
    if (!title.empty() && (static_cast<unsigned char>(title.back()) & 0x80)) title.pop_back();
    title += "…";
  }
  return title;
}
}  // namespace

ChatService::ChatService(store::Database& db, runners::WorkerPool& pool, RunRegistry& runs,
                         ChatServiceOptions options)
    : db_(db), pool_(pool), runs_(runs), options_(std::move(options)) {}

Result<std::shared_ptr<LiveRun>> ChatService::Start(const ChatTurnRequest& request) {
  const std::string agent_name = request.agent.empty() ? options_.default_agent : request.agent;
  const auto agent_it = options_.agents.find(agent_name);
  if (agent_it == options_.agents.end()) {
    std::string known;
    for (const auto& [name, _] : options_.agents) known += (known.empty() ? "" : ", ") + name;
    return MakeError(ErrorCode::kNotFound, "no agent named \"" + agent_name + "\" (configured: " + known + ")",
                     "agent");
  }
  const runners::AgentConfig& agent = agent_it->second;
  if (request.message.find_first_not_of(" \t\r\n") == std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "expected a non-empty message", "message");
  }
  if (request.message.size() > kMaxMessageBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "message is " + std::to_string(request.message.size()) + " bytes; the limit is " +
                         std::to_string(kMaxMessageBytes),
                     "message");
  }

  nlohmann::json history = nlohmann::json::array();
  std::string session_id = request.session_id;
  const bool new_session = session_id.empty();
  memory::SessionStore sessions(db_);
  if (!new_session) {
    auto session = sessions.GetSession(session_id);
    if (!session.ok()) return session.error();
    auto messages = sessions.Messages(session_id, options_.history_limit);
    if (!messages.ok()) return messages.error();
    for (const auto& m : *messages) {
      if (m.role == "user" || m.role == "assistant") history.push_back({{"role", m.role}, {"content", m.content}});
    }
  } else {
    session_id = NewUuid();
  }
  if (request.history) history = *request.history;

  // The run's root span; the worker's spans and every model and tool call of the run hang under it.
  telemetry::ScopedSpan root = telemetry::StartSpan("chat.run");
  root.Set("workflow.type", "chat").Set("workflow.orchestrator", agent.runner).Set("agent.id", agent.name)
      .Set("agent.model", agent.model);

  RunIdentity identity;
  identity.run_id = NewUuid();
  identity.session_id = session_id;
  identity.agent = agent.name;
  identity.model = agent.model;
  identity.trace_id = root.context().trace_id;
  identity.root_span_id = root.context().span_id;
  identity.tools = agent.tools;
  identity.risk_threshold = agent.risk_threshold;

  // Taken before the transaction: listing reads provider caches, never the network.
  std::vector<tools::ToolInfo> snapshot;
  if (options_.tools != nullptr) {
    tools::CallContext visible;
    visible.allowed_tools = agent.tools;
    snapshot = options_.tools->List(visible);
  }
  auto stored = db_.Transact([&](pqxx::work& tx) {
    if (new_session) {
      memory::SessionStore::CreateSession(tx, session_id, agent.name, TitleFrom(request.message));
      tx.exec_params("UPDATE chat_session SET metadata = jsonb_build_object('source', $2::text) WHERE id = $1::uuid",
                     session_id, request.source);
    }
    // Owned and leased from its first commit, so no moment leaves it running without an owner.
    tx.exec_params(
        "INSERT INTO run (id, kind, agent, runner, session_id, status, trace_id, owner, lease_until) "
        "VALUES ($1::uuid, 'chat', $2, $3, $4::uuid, 'running', $5, NULLIF($6, ''), "
        "CASE WHEN $6 = '' THEN NULL ELSE now() + $7::interval END)",
        identity.run_id, agent.name, agent.runner, session_id, identity.trace_id, options_.run_owner,
        std::to_string(options_.run_lease.count()) + " milliseconds");
    InsertToolSnapshot(tx, identity.run_id, snapshot);
    return memory::SessionStore::AppendMessage(tx, session_id, "user", request.message,
                                               {{"run_id", identity.run_id}, {"source", request.source}});
  });
  if (!stored.ok()) {
    root.SetError(stored.error().message);
    return stored.error();
  }
  root.SetRunId(identity.run_id).Set("run.id", identity.run_id).Set("session.id", session_id);

  std::shared_ptr<LiveRun> run = runs_.Add(std::move(identity));
  run->root_span() = std::move(root);
  run->Emit("session", {{"session_id", session_id},
                        {"agent", agent.name},
                        {"model", agent.model},
                        {"trace_id", run->identity().trace_id},
                        {"user_message_id", *stored}});
  run->Emit("status", {{"text", "starting " + agent.name + " (" + agent.runner + ", model " + agent.model + ")…"}});

  runners::RunRequest work;
  work.run_id = run->id();
  work.runner = agent.runner;
  work.agent = agent;
  work.input = {{"message", request.message}, {"history", history}};
  work.core_base_url = options_.core_base_url;
  work.token = run->identity().token;
  work.traceparent = telemetry::FormatTraceparent(run->root_span().context());
  Status submitted = pool_.Submit(work, [this, run](const runners::WorkerEvent& event) { OnWorkerEvent(run, event); });
  if (!submitted.ok()) Fail(run, "unavailable", submitted.error().ToString());
  return run;
}

void ChatService::OnWorkerEvent(const std::shared_ptr<LiveRun>& run, const runners::WorkerEvent& event) {
  if (event.type == "token") {
    run->MarkProgress(true);
    run->Emit("token", {{"text", event.data.value("text", "")}});
  } else if (event.type == "status") {
    run->MarkProgress(false);
    run->Emit("status", {{"text", event.data.value("text", "")}});
  } else if (event.type == "done") {
    Finish(run, event.data.value("output", ""), event.data.value("stats", nlohmann::json::object()));
  } else if (event.type == "error") {
    Fail(run, event.data.value("code", "internal"), event.data.value("message", "the worker reported an error"));
  } else if (event.type == "spans") {
    telemetry::RecordWorkerSpans(event.data, run->identity().trace_id, run->id());
  }
}

void ChatService::Finish(const std::shared_ptr<LiveRun>& run, const std::string& output,
                         const nlohmann::json& stats) {
  RunCounters& c = run->counters();
  ConfidenceInputs inputs;
  inputs.finished_normally = true;
  inputs.answer_nonempty = output.find_first_not_of(" \t\r\n") != std::string::npos;
  inputs.tool_calls = c.tool_calls;
  inputs.tool_errors = c.tool_errors;
  inputs.sources = c.sources;
  inputs.used_fallback = c.used_fallback;
  const Confidence confidence = ComputeConfidence(inputs);
  const double cost_usd = static_cast<double>(c.cost_nano_usd.load()) / 1e9;
  const nlohmann::json usage = {{"prompt_tokens", c.prompt_tokens.load()},
                                {"completion_tokens", c.completion_tokens.load()},
                                {"total_tokens", c.prompt_tokens.load() + c.completion_tokens.load()},
                                {"model_calls", c.model_calls.load()}};
  const double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run->started()).count();
  nlohmann::json run_stats = {{"usage", usage},   {"cost_usd", cost_usd}, {"worker", stats},
                              {"duration_ms", duration_ms}, {"used_fallback", c.used_fallback.load()}};
  run_stats.update(OutcomeStats(c));
  nlohmann::json metadata = {{"run_id", run->id()},           {"confidence", confidence.score},
                             {"factors", confidence.factors}, {"usage", usage},
                             {"cost_usd", cost_usd},          {"trace_id", run->identity().trace_id},
                             {"agent", run->identity().agent}};
  // A tool-gap report the agent appended is stored with the answer, valid or not.
  const std::optional<tools::ToolGapReport> gap = tools::ExtractToolGapReport(output);
  int64_t gap_id = 0;
  auto message_id = db_.Transact([&](pqxx::work& tx) {
    const int64_t id =
        memory::SessionStore::AppendMessage(tx, run->identity().session_id, "assistant", output, metadata);
    if (gap) gap_id = tools::InsertToolGapReport(tx, run->id(), run->identity().session_id, *gap);
    // Not fenced by the lease, unlike a workflow step: a turn ends once, and should its run have
    // been ended as interrupted while this process stalled past its lease, this is the truer end.
    tx.exec_params(
        "UPDATE run SET status = 'succeeded', error = NULL, confidence = $2, stats = $3::jsonb, finished_at = now(), "
        "owner = NULL, lease_until = NULL WHERE id = $1::uuid",
        run->id(), confidence.score, run_stats.dump());
    return id;
  });
  telemetry::ScopedSpan& span = run->root_span();
  span.Set("gen_ai.usage.input_tokens", c.prompt_tokens.load()).Set("gen_ai.usage.output_tokens", c.completion_tokens.load())
      .Set("steward.cost_usd", cost_usd).Set("steward.confidence", confidence.score)
      .Set("steward.model_calls", c.model_calls.load()).Set("steward.tool_calls", c.tool_calls.load())
      .Set("steward.tool_errors", c.tool_errors.load());
  if (message_id.ok()) span.SetOk(); else span.SetError("the answer could not be saved");
  span.End();  // before `done`, so a client that then asks for the trace finds it
  if (!message_id.ok()) {
    spdlog::error("run {}: could not store the answer: {}", run->id(), message_id.error().ToString());
    run->Emit("error", {{"code", "unavailable"},
                        {"message", "the answer could not be saved: " + message_id.error().message}});
  } else {
    nlohmann::json done = {{"message_id", *message_id},
                           {"session_id", run->identity().session_id},
                           {"confidence", confidence.score},
                           {"factors", confidence.factors},
                           {"summary", ConfidenceLine(true, confidence.score)},
                           {"usage", usage},
                           {"cost_usd", cost_usd},
                           {"trace_id", run->identity().trace_id},
                           {"duration_ms", duration_ms}};
    if (gap) {
      done["tool_gap"] = {{"id", gap_id}, {"valid", gap->valid}, {"errors", gap->errors}, {"report", gap->report}};
    }
    run->Emit("done", std::move(done));
  }
  runs_.Remove(run->id());
}

void ChatService::Fail(const std::shared_ptr<LiveRun>& run, const std::string& reported_code,
                       const std::string& reported_message) {
  // Closing the HTTP server cuts a worker's model call under its run, which the worker then
  // reports as a model_error: while shutting down, record the cause rather than that symptom.
  const bool stopping = shutting_down_.load(std::memory_order_acquire) && reported_code != "cancelled";
  const std::string code = stopping ? "cancelled" : reported_code;
  // Redacted: a worker may quote a credential an upstream echoed in its error.
  const std::string message = telemetry::Redact(
      stopping ? "steward shut down during the run (" + reported_message + ")" : reported_message);
  const std::string status = code == "cancelled" ? "cancelled" : "failed";
  telemetry::metrics::Error("run", code);
  RunCounters& counters = run->counters();
  nlohmann::json run_stats = OutcomeStats(counters);
  run_stats["usage"] = {{"prompt_tokens", counters.prompt_tokens.load()},
                        {"completion_tokens", counters.completion_tokens.load()},
                        {"model_calls", counters.model_calls.load()}};
  run_stats["cost_usd"] = static_cast<double>(counters.cost_nano_usd.load()) / 1e9;
  auto updated = db_.Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE run SET status = $2, error = $3::jsonb, stats = stats || $4::jsonb, finished_at = now(), "
        "owner = NULL, lease_until = NULL WHERE id = $1::uuid",
        run->id(), status, nlohmann::json({{"code", code}, {"message", message}}).dump(), run_stats.dump());
    return true;
  });
  if (!updated.ok()) spdlog::error("run {}: could not record its failure: {}", run->id(), updated.error().ToString());
  const RunCounters& c = run->counters();
  run->root_span().Set("error.type", code).SetError(message)
      .Set("gen_ai.usage.input_tokens", c.prompt_tokens.load()).Set("gen_ai.usage.output_tokens", c.completion_tokens.load())
      .Set("steward.cost_usd", static_cast<double>(c.cost_nano_usd.load()) / 1e9);
  run->root_span().End();
  run->Emit("error", {{"code", code}, {"message", message}, {"summary", ConfidenceLine(false, 0)}});
  runs_.Remove(run->id());
}

void ChatService::Cancel(const std::string& run_id) {
  if (auto run = runs_.FindById(run_id)) {
    run->RequestCancel();
    pool_.Cancel(run_id);
  }
}

}  // namespace steward::engine
