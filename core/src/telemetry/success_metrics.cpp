#include "telemetry/success_metrics.hpp"

#include <charconv>

namespace steward::telemetry {

namespace {

using nlohmann::json;

#define STEWARD_TS(expr) "to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// Rows of runs in the window: started at or after to_timestamp($1) (0: all), finished.
constexpr const char* kWindow = "r.started_at >= to_timestamp($1::float8) AND r.status <> 'running'";

json Ratio(int64_t numerator, int64_t denominator) {
  if (denominator <= 0) return nullptr;
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

json Metric(std::string_view title, json value, std::string_view unit, int64_t n, std::string_view n_of,
            std::string_view target, std::string_view how, json details) {
  return {{"title", title}, {"value", std::move(value)}, {"unit", unit},     {"n", n},
          {"n_of", n_of},   {"target", target},          {"how", how},       {"details", std::move(details)}};
}

json NullableDouble(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.as<double>()); }

int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

}  // namespace

Result<std::optional<std::chrono::seconds>> ParseSince(std::string_view text) {
  if (text.empty() || text == "all") return std::optional<std::chrono::seconds>();
  int64_t amount = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, amount);
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  int64_t scale = 0;
  if (unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  else if (unit == "w") scale = 7 * 86400;
  if (ec != std::errc() || ptr == text.data() || amount <= 0 || scale == 0 || amount > 100L * 365 * 86400 / scale) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected a duration like 7d, 24h, 30m, 90s or 2w (or \"all\"), got \"" + std::string(text) + "\"",
                     "since");
  }
  return std::optional<std::chrono::seconds>(std::chrono::seconds(amount * scale));
}

Result<json> ComputeSuccessMetrics(store::Database& db, std::optional<std::chrono::seconds> since,
                                   std::string_view since_arg) {
  return db.Read([&](pqxx::read_transaction& tx) -> Result<json> {
    const pqxx::row clock = tx.exec_params1(
        "SELECT extract(epoch FROM now())::float8, " STEWARD_TS("now()") ", " STEWARD_TS("now() - $1::float8 * interval '1 second'"),
        since ? static_cast<double>(since->count()) : 0.0);
    const double from = since ? clock[0].as<double>() - static_cast<double>(since->count()) : 0.0;
    const bool has_workflows = !tx.exec("SELECT to_regclass('workflow_step')")[0][0].is_null();
    json metrics = json::object();

    // --- decisions and tool calls: the core's per-run counters (run.stats) and the approvals of
    // those runs. Workflow runs are left out: their agent steps are runs of their own.
    const std::string run_filter = std::string(kWindow) + " AND r.kind <> 'workflow' AND r.stats ? 'tool_calls'";
    const pqxx::row calls = tx.exec_params1(
        "SELECT coalesce(sum((r.stats->>'tool_calls')::bigint), 0), coalesce(sum((r.stats->>'tool_errors')::bigint), 0), "
        "count(*) FROM run r WHERE " + run_filter,
        from);
    const int64_t tool_calls = Int(calls[0]);
    const int64_t tool_errors = Int(calls[1]);
    const int64_t runs_counted = Int(calls[2]);
    int64_t held = 0, approved = 0, denied = 0, expired = 0, pending = 0;
    for (const auto& row : tx.exec_params(
             "SELECT a.status, count(*) FROM approval a JOIN run r ON r.id = a.run_id WHERE " + run_filter +
                 " GROUP BY 1",
             from)) {
      const std::string status = row[0].c_str();
      const int64_t n = Int(row[1]);
      held += n;
      if (status == "approved") approved = n;
      else if (status == "denied") denied = n;
      else if (status == "expired") expired = n;
      else pending += n;
    }
    const int64_t not_approved = denied + expired + pending;
    const int64_t automatic = std::max<int64_t>(tool_calls - held, 0);
    metrics["decision_approval_rate"] = Metric(
        "Decision approval rate", Ratio(automatic + approved, tool_calls), "ratio", tool_calls, "tool calls by agents",
        ">= 80%",
        "(tool calls that ran without being held for approval + held calls the owner approved) / tool calls made "
        "by agents in finished runs; denied and expired approvals count against it",
        {{"automatic", automatic},
         {"held", held},
         {"approved", approved},
         {"denied", denied},
         {"expired", expired},
         {"runs", runs_counted}});

    const int64_t ran = std::max<int64_t>(tool_calls - not_approved, 0);
    const int64_t failed = std::max<int64_t>(tool_errors - not_approved, 0);
    metrics["tool_success_rate"] = Metric(
        "Tool success rate", Ratio(ran - failed, ran), "ratio", ran, "tool calls that ran", ">= 90%",
        "tool calls that returned a result without error / tool calls that ran (calls the owner did not approve "
        "never ran and are left out), in finished runs",
        {{"calls", tool_calls}, {"errors", failed}, {"not_approved", not_approved}});

    // --- workflows: top-level workflow runs; manual intervention = an approval of the run or of
    // one of its steps' runs.
    int64_t wf_finished = 0, wf_succeeded = 0, wf_autonomous = 0;
    json wf_by_status = json::object();
    const std::string wf_sql =
        has_workflows
            ? std::string("SELECT r.status, count(*), count(*) FILTER (WHERE NOT EXISTS ("
                          "SELECT 1 FROM approval a WHERE a.run_id = r.id OR a.run_id IN "
                          "(SELECT c.id FROM run c WHERE c.parent_run_id = r.id))) "
                          "FROM run r WHERE r.kind = 'workflow' AND r.parent_run_id IS NULL AND ") +
                  kWindow + " GROUP BY 1"
            : std::string("SELECT r.status, count(*), count(*) FILTER (WHERE NOT EXISTS ("
                          "SELECT 1 FROM approval a WHERE a.run_id = r.id)) FROM run r WHERE r.kind = 'workflow' AND ") +
                  kWindow + " GROUP BY 1";
    for (const auto& row : tx.exec_params(wf_sql, from)) {
      const std::string status = row[0].c_str();
      wf_finished += Int(row[1]);
      wf_by_status[status] = Int(row[1]);
      if (status == "succeeded") {
        wf_succeeded = Int(row[1]);
        wf_autonomous = Int(row[2]);
      }
    }
    metrics["workflow_completion_rate"] = Metric(
        "Workflow completion rate", Ratio(wf_autonomous, wf_finished), "ratio", wf_finished, "finished workflow runs",
        ">= 95%",
        "workflow runs that succeeded with no approval asked of the owner (for the run or its agent steps) / "
        "finished top-level workflow runs; retries and fallbacks inside a run count as autonomous",
        {{"succeeded", wf_succeeded}, {"succeeded_without_approval", wf_autonomous}, {"by_status", wf_by_status}});

    // --- chat turns: completed without escalation.
    const pqxx::row chat = tx.exec_params1(
        std::string("SELECT count(*), count(*) FILTER (WHERE r.status = 'succeeded'), "
                    "count(*) FILTER (WHERE r.status = 'succeeded' AND EXISTS (SELECT 1 FROM approval a WHERE a.run_id = r.id)), "
                    "count(*) FILTER (WHERE r.status = 'succeeded' AND EXISTS (SELECT 1 FROM tool_gap_report g WHERE g.run_id = r.id)), "
                    "count(*) FILTER (WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM approval a WHERE a.run_id = r.id) "
                    "AND NOT EXISTS (SELECT 1 FROM tool_gap_report g WHERE g.run_id = r.id)) "
                    "FROM run r WHERE r.kind = 'chat' AND ") + kWindow,
        from);
    metrics["task_completion_rate"] = Metric(
        "Task completion without escalation", Ratio(Int(chat[4]), Int(chat[0])), "ratio", Int(chat[0]),
        "finished chat turns", ">= 85%",
        "chat turns that succeeded without asking the owner to approve anything and without a tool-gap report / "
        "finished chat turns (failed and cancelled turns count against it)",
        {{"succeeded", Int(chat[1])}, {"with_approval", Int(chat[2])}, {"with_tool_gap_report", Int(chat[3])}});

    // --- latency.
    const pqxx::row latency = tx.exec_params1(
        std::string("SELECT count(*), "
                    "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at) * 1000), "
                    "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at) * 1000) "
                    "FROM run r WHERE r.kind = 'chat' AND r.status = 'succeeded' AND ") + kWindow,
        from);
    metrics["latency_p50"] = Metric(
        "Chat turn latency p50", NullableDouble(latency[1]), "ms", Int(latency[0]), "succeeded chat turns",
        "< 30 s simple, < 60 s research",
        "median of (answer stored - run started) over chat turns that succeeded, from the run rows",
        {{"p95_ms", NullableDouble(latency[2])}});

    // --- progress: first_progress_ms in run.stats (the first status, token or tool call the agent's
    // worker produced); turns recorded before the core kept it are left out.
    const pqxx::row progress = tx.exec_params1(
        std::string("SELECT count(*), count(*) FILTER (WHERE (r.stats->>'first_progress_ms')::float8 <= 2000), "
                    "count(*) FILTER (WHERE r.stats->'first_progress_ms' = 'null'::jsonb), "
                    "percentile_cont(0.5) WITHIN GROUP (ORDER BY (r.stats->>'first_progress_ms')::float8), "
                    "percentile_cont(0.5) WITHIN GROUP (ORDER BY (r.stats->>'first_token_ms')::float8) "
                    "FROM run r WHERE r.kind = 'chat' AND r.stats ? 'first_progress_ms' AND ") + kWindow,
        from);
    metrics["progress_within_2s"] = Metric(
        "Progress update within 2 s", Ratio(Int(progress[1]), Int(progress[0])), "ratio", Int(progress[0]),
        "finished chat turns", ">= 95%",
        "chat turns whose first progress event from the agent (a status, token or tool call; not the core's own "
        "\"starting\" line) reached the run within 2 s of its start / finished chat turns; a turn with none counts "
        "against it",
        {{"without_progress", Int(progress[2])},
         {"first_progress_p50_ms", NullableDouble(progress[3])},
         {"first_token_p50_ms", NullableDouble(progress[4])}});

    // --- memory.
    const pqxx::row memory = tx.exec_params1(
        "SELECT count(*), count(*) FILTER (WHERE updated_at >= now() - interval '30 days'), "
        "extract(epoch FROM now() - max(updated_at))::float8, " STEWARD_TS("max(updated_at)") ", "
        "count(*) FILTER (WHERE created_at >= to_timestamp($1::float8)) "
        "FROM memory_item WHERE valid_to IS NULL",
        from);
    metrics["memory_freshness"] = Metric(
        "Memory freshness", Ratio(Int(memory[1]), Int(memory[0])), "ratio", Int(memory[0]), "current memory items",
        "recent knowledge kept current",
        "current memory items (not superseded) created or updated in the last 30 days / current memory items; "
        "with the age of the newest one (all items, whatever --since says)",
        {{"newest_item_age_s", NullableDouble(memory[2])},
         {"newest_item_at", memory[3].is_null() ? json(nullptr) : json(memory[3].c_str())},
         {"created_in_window", Int(memory[4])}});

    const pqxx::result model = tx.exec("SELECT name FROM embedding_model WHERE is_current");
    if (model.empty()) {
      metrics["memory_indexing"] = Metric(
          "Memory searchable within 1 h", nullptr, "ratio", 0, "chunks", ">= 100% within 1 h",
          "no embedding model in use (memory.embeddings off): items are searchable by full text as soon as they "
          "are stored, and never by vector",
          {{"embedding_model", nullptr}});
    } else {
      // Lag from when the chunk could first be embedded: its item's creation, or the model's first
      // use for chunks re-embedded after a change of model.
      const pqxx::row index = tx.exec_params1(
          "SELECT count(*) FILTER (WHERE c.embedded_at IS NOT NULL OR d.ready < now() - interval '1 hour'), "
          "count(*) FILTER (WHERE c.embedded_at IS NOT NULL AND c.embedded_at - d.ready <= interval '1 hour'), "
          "count(*) FILTER (WHERE c.embedded_at IS NULL), "
          "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.embedded_at - d.ready) * 1000) "
          "  FILTER (WHERE c.embedded_at IS NOT NULL) "
          "FROM memory_chunk c JOIN memory_item i ON i.id = c.item_id "
          "CROSS JOIN LATERAL (SELECT greatest(i.created_at, coalesce((SELECT first_used_at FROM embedding_model m "
          "  WHERE m.id = c.embedding_model_id), i.created_at)) AS ready) d "
          "WHERE i.valid_to IS NULL AND i.created_at >= to_timestamp($1::float8)",
          from);
      metrics["memory_indexing"] = Metric(
          "Memory searchable within 1 h", Ratio(Int(index[1]), Int(index[0])), "ratio", Int(index[0]),
          "chunks of current items (embedded, or stored over an hour ago)", ">= 100% within 1 h",
          "chunks with a vector within 1 hour of their item being stored / chunks that have a vector or were stored "
          "over an hour ago (full-text search sees an item as soon as it is stored)",
          {{"embedding_model", model[0][0].c_str()},
           {"not_yet_embedded", Int(index[2])},
           {"lag_p50_ms", NullableDouble(index[3])}});
    }

    return json{{"window",
                 {{"since", since ? json(clock[2].c_str()) : json(nullptr)},
                  {"until", clock[1].c_str()},
                  {"since_arg", since ? json(std::string(since_arg)) : json("all")}}},
                {"metrics", std::move(metrics)}};
  });
}

}  // namespace steward::telemetry
