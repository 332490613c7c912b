#include "telemetry/span_store.hpp"

#include <cctype>

#include <pqxx/pqxx>

namespace steward::telemetry {

namespace {

using nlohmann::json;

constexpr const char* kInsert =
    "INSERT INTO span (trace_id, span_id, parent_span_id, run_id, name, kind, start_ns, end_ns, duration_ms, "
    "status, status_message, attributes, service) "
    "SELECT x.trace_id, x.span_id, NULLIF(x.parent_span_id, ''), NULLIF(x.run_id, '')::uuid, x.name, x.kind, "
    "x.start_ns, x.end_ns, (x.end_ns - x.start_ns) / 1e6, x.status, NULLIF(x.status_message, ''), "
    "coalesce(x.attributes, '{}'::jsonb), x.service "
    "FROM jsonb_to_recordset($1::jsonb) AS x(trace_id text, span_id text, parent_span_id text, run_id text, "
    "name text, kind text, start_ns bigint, end_ns bigint, status text, status_message text, attributes jsonb, "
    "service text) "
    "ON CONFLICT (trace_id, span_id) DO NOTHING";

}  // namespace

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

json AttributesToJson(const Attributes& attributes) {
  json out = json::object();
  for (const auto& [key, value] : attributes) {
    std::visit([&](const auto& v) { out[key] = v; }, value);
  }
  return out;
}

Attributes AttributesFromJson(const json& object) {
  Attributes out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      out.emplace(key, value.get<std::string>());
    } else if (value.is_boolean()) {
      out.emplace(key, value.get<bool>());
    } else if (value.is_number_integer() || value.is_number_unsigned()) {
      out.emplace(key, value.get<int64_t>());
    } else if (value.is_number_float()) {
      out.emplace(key, value.get<double>());
    } else {
      out.emplace(key, value.dump());
    }
  }
  return out;
}

json SpanToJson(const Span& span) {
  return {{"trace_id", span.trace_id},
          {"span_id", span.span_id},
          {"parent_span_id", span.parent_span_id.empty() ? json(nullptr) : json(span.parent_span_id)},
          {"run_id", span.run_id.empty() ? json(nullptr) : json(span.run_id)},
          {"name", span.name},
          {"kind", KindName(span.kind)},
          {"start_ns", span.start_ns},
          {"end_ns", span.end_ns},
          {"duration_ms", span.duration_ms()},
          {"status", StatusName(span.status)},
          {"status_message", span.status_message},
          {"attributes", AttributesToJson(span.attributes)},
          {"service", span.service}};
}

Status SpanStore::Export(const std::vector<Span>& batch) {
  if (batch.empty()) return Status::Ok();
  json rows = json::array();
  for (const Span& span : batch) {
    rows.push_back({{"trace_id", span.trace_id},
                    {"span_id", span.span_id},
                    {"parent_span_id", span.parent_span_id},
                    // A malformed run id would fail the whole batch on the ::uuid cast.
                    {"run_id", LooksLikeUuid(span.run_id) ? span.run_id : std::string()},
                    {"name", span.name},
                    {"kind", KindName(span.kind)},
                    {"start_ns", span.start_ns},
                    {"end_ns", span.end_ns},
                    {"status", StatusName(span.status)},
                    {"status_message", span.status_message},
                    {"attributes", AttributesToJson(span.attributes)},
                    {"service", span.service.empty() ? core_service_ : span.service}});
  }
  // PostgreSQL rejects \u0000 in jsonb text; invalid UTF-8 is replaced rather than failing the batch.
  std::string payload = rows.dump(-1, ' ', false, json::error_handler_t::replace);
  for (size_t pos = payload.find("\\u0000"); pos != std::string::npos; pos = payload.find("\\u0000", pos)) {
    payload.replace(pos, 6, "\\ufffd");
  }
  return db_.Transact([&](pqxx::work& tx) { tx.exec_params(kInsert, payload); });
}

Result<std::vector<Span>> SpanStore::LoadTrace(const std::string& trace_id, int limit) {
  return db_.Read([&](pqxx::read_transaction& tx) {
    std::vector<Span> spans;
    const pqxx::result rows = tx.exec_params(
        "SELECT trace_id, span_id, coalesce(parent_span_id, ''), coalesce(run_id::text, ''), name, kind, start_ns, "
        "end_ns, status, coalesce(status_message, ''), attributes::text, service "
        "FROM span WHERE trace_id = $1 ORDER BY start_ns, span_id LIMIT $2",
        trace_id, limit);
    spans.reserve(rows.size());
    for (const auto& row : rows) {
      Span span;
      span.trace_id = row[0].as<std::string>();
      span.span_id = row[1].as<std::string>();
      span.parent_span_id = row[2].as<std::string>();
      span.run_id = row[3].as<std::string>();
      span.name = row[4].as<std::string>();
      span.kind = KindFromName(row[5].as<std::string>()).value_or(SpanKind::kInternal);
      span.start_ns = row[6].as<int64_t>();
      span.end_ns = row[7].as<int64_t>();
      span.status = StatusFromName(row[8].as<std::string>()).value_or(SpanStatus::kUnset);
      span.status_message = row[9].as<std::string>();
      span.attributes = AttributesFromJson(json::parse(row[10].as<std::string>(), nullptr, false));
      span.service = row[11].as<std::string>();
      spans.push_back(std::move(span));
    }
    return spans;
  });
}

Result<json> SpanStore::LoadRun(const std::string& run_id) {
  if (!LooksLikeUuid(run_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "expected a run id (a uuid), got \"" + run_id.substr(0, 64) + "\"",
                     "id");
  }
  auto row = db_.Read([&](pqxx::read_transaction& tx) -> Result<json> {
    const pqxx::result r = tx.exec_params(
        "SELECT json_build_object('id', id, 'kind', kind, 'agent', agent, 'runner', runner, 'session_id', "
        "session_id, 'status', status, 'trace_id', trace_id, 'confidence', confidence, 'stats', stats, 'error', "
        "error, 'started_at', to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "'finished_at', to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text "
        "FROM run WHERE id = $1::uuid",
        run_id);
    if (r.empty()) return MakeError(ErrorCode::kNotFound, "no run with id " + run_id, "id");
    return json::parse(r[0][0].as<std::string>());
  });
  return row;
}

}  // namespace steward::telemetry
