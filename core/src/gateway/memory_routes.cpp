// GET /api/memory/search: hybrid memory search with its plan (what `steward memory search`
// prints). Query parameters: q, limit, mode (auto|hybrid|fulltext|vector), type (comma list),
// source (prefix), since/until (created_at range), updated_since/updated_until, date_key,
// date_from, date_to (a date in metadata), as_of, include_expired=1, metadata (a JSON object
// for containment), explain=1 (adds the SQL and timings).

#include <sstream>

#include "gateway/api.hpp"

namespace steward::gateway {

namespace {

std::string Param(const ParsedTarget& t, std::string_view key) {
  auto it = t.query.find(key);
  return it == t.query.end() ? std::string() : it->second;
}

bool Flag(const ParsedTarget& t, std::string_view key) {
  const std::string v = Param(t, key);
  return v == "1" || v == "true" || v == "yes";
}

Result<memory::SearchRequest> ParseSearch(const ParsedTarget& t) {
  memory::SearchRequest r;
  r.query = Param(t, "q");
  if (const std::string limit = Param(t, "limit"); !limit.empty()) {
    try {
      r.limit = std::stoi(limit);
    } catch (const std::exception&) {
      return MakeError(ErrorCode::kInvalidArgument, "limit must be a number between 1 and 100", "limit");
    }
  }
  if (const std::string mode = Param(t, "mode"); !mode.empty()) r.mode = mode;
  std::stringstream types(Param(t, "type"));
  for (std::string type; std::getline(types, type, ',');) {
    if (!type.empty()) r.types.push_back(type);
  }
  r.source_prefix = Param(t, "source");
  r.created_from = Param(t, "since");
  r.created_to = Param(t, "until");
  r.updated_from = Param(t, "updated_since");
  r.updated_to = Param(t, "updated_until");
  r.metadata_date_key = Param(t, "date_key");
  r.date_from = Param(t, "date_from");
  r.date_to = Param(t, "date_to");
  r.as_of = Param(t, "as_of");
  r.include_expired = Flag(t, "include_expired");
  r.explain = Flag(t, "explain");
  if (const std::string metadata = Param(t, "metadata"); !metadata.empty()) {
    r.metadata = nlohmann::json::parse(metadata, nullptr, false);
    if (r.metadata.is_discarded() || !r.metadata.is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, "metadata must be a JSON object, e.g. {\"project\":\"apollo\"}",
                       "metadata");
    }
  }
  if (r.query.empty() && r.types.empty() && r.source_prefix.empty() && r.metadata.empty() && r.created_from.empty() &&
      r.created_to.empty() && r.updated_from.empty() && r.updated_to.empty() && r.date_from.empty() &&
      r.date_to.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "give q (what to look for) or at least one filter", "q");
  }
  return r;
}

}  // namespace

void RegisterMemoryRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/api/memory/search", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) {
    auto principal = RequirePrincipal(ctx, req, w);
    if (!principal) return;
    if (ctx.memory == nullptr) {
      return w.SendError(MakeError(ErrorCode::kUnavailable, "memory search is not set up in this server"));
    }
    auto request = ParseSearch(ParseTarget(req.target()));
    if (!request.ok()) return w.SendError(request.error());
    memory::AccessContext access;
    access.principal = principal->owner() ? "owner" : "run";
    if (principal->run) access.run_id = principal->run->identity().run_id;
    auto found = ctx.memory->Search(*request, access);
    if (!found.ok()) return w.SendError(found.error());
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& hit : found->hits) hits.push_back(memory::ToJson(hit));
    w.SendJson(http::status::ok, {{"query", request->query}, {"results", std::move(hits)}, {"plan", found->plan}});
  });
}

}  // namespace steward::gateway
