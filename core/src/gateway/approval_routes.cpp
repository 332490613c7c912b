// /api/approvals: the owner's side of the approval gate (list what waits, decide it), and
// /api/tool-gaps: the tool-gap reports agents filed. Deciding needs the owner token: a run
// token (the agent's own) must never approve its calls.

#include "gateway/api.hpp"
#include "tools/tool_gap.hpp"

namespace steward::gateway {

namespace {

using nlohmann::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

// The owner, or nullopt after answering 401/403.
std::optional<Principal> RequireOwner(const ApiContext& ctx, const Request& req, ResponseWriter& w,
                                      std::string_view what) {
  auto principal = RequirePrincipal(ctx, req, w);
  if (!principal) return std::nullopt;
  if (!principal->owner()) {
    w.SendError(MakeError(ErrorCode::kPermissionDenied,
                          "a run token cannot " + std::string(what) + "; use the owner token", "Authorization"));
    return std::nullopt;
  }
  return principal;
}

// An integer query parameter in [lo, hi], its default when absent, or nullopt after a 400.
std::optional<int> QueryInt(const ParsedTarget& target, std::string_view key, int fallback, int lo, int hi,
                            ResponseWriter& w) {
  auto it = target.query.find(key);
  if (it == target.query.end()) return fallback;
  try {
    size_t used = 0;
    const int value = std::stoi(it->second, &used);
    if (used == it->second.size() && value >= lo && value <= hi) return value;
  } catch (const std::exception&) {
  }
  w.SendError(MakeError(ErrorCode::kInvalidArgument,
                        "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                            ", got \"" + it->second + "\"",
                        std::string(key)));
  return std::nullopt;
}

void ListApprovals(ApiContext& ctx, const Request& req, ResponseWriter& w) {
  if (!RequireOwner(ctx, req, w, "list approvals")) return;
  const ParsedTarget target = ParseTarget(req.target());
  std::optional<tools::ApprovalStatus> status;
  if (auto it = target.query.find("status"); it != target.query.end() && it->second != "all") {
    status = tools::ParseApprovalStatus(it->second);
    if (!status) {
      return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                   "expected pending, approved, denied, expired or all, got \"" + it->second + "\"",
                                   "status"));
    }
  }
  auto limit = QueryInt(target, "limit", kDefaultLimit, 1, kMaxLimit, w);
  if (!limit) return;
  auto approvals = ctx.approvals->List(status, *limit);
  if (!approvals.ok()) return w.SendError(approvals.error());
  json out = json::array();
  for (const auto& a : *approvals) out.push_back(tools::ToJson(a));
  w.SendJson(http::status::ok, {{"approvals", out}});
}

void GetApproval(ApiContext& ctx, const Request& req, const PathParams& params, ResponseWriter& w) {
  if (!RequireOwner(ctx, req, w, "read approvals")) return;
  auto approval = ctx.approvals->Get(params.find("id")->second);
  if (!approval.ok()) return w.SendError(approval.error());
  w.SendJson(http::status::ok, tools::ToJson(*approval));
}

void DecideApproval(ApiContext& ctx, const Request& req, const PathParams& params, ResponseWriter& w) {
  if (!RequireOwner(ctx, req, w, "decide approvals")) return;
  auto body = RequireJsonObject(req, w);
  if (!body) return;
  for (const auto& [key, value] : body->items()) {
    if (key != "decision" && key != "note" && key != "arguments_hash") {
      return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                   "unknown field \"" + key + "\" (expected decision, note, arguments_hash)", key));
    }
  }
  const auto decision = body->find("decision");
  if (decision == body->end() || !decision->is_string() ||
      (*decision != "approve" && *decision != "deny")) {
    const std::string got = decision == body->end() ? "nothing" : decision->dump();
    return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                 "expected \"approve\" or \"deny\", got " + got, "decision"));
  }
  std::string fields[2];  // note, arguments_hash
  const char* names[2] = {"note", "arguments_hash"};
  for (int i = 0; i < 2; ++i) {
    const auto it = body->find(names[i]);
    if (it == body->end() || it->is_null()) continue;
    if (!it->is_string()) {
      return w.SendError(MakeError(ErrorCode::kInvalidArgument,
                                   std::string("expected a string, got ") + it->type_name(), names[i]));
    }
    fields[i] = it->get<std::string>();
  }
  auto decided = ctx.approvals->Decide(params.find("id")->second, *decision == "approve", "owner", fields[0],
                                       fields[1]);
  if (!decided.ok()) return w.SendError(decided.error());
  w.SendJson(http::status::ok, tools::ToJson(*decided));
}

void ListToolGaps(ApiContext& ctx, const Request& req, ResponseWriter& w) {
  if (!RequireOwner(ctx, req, w, "list tool-gap reports")) return;
  const ParsedTarget target = ParseTarget(req.target());
  auto limit = QueryInt(target, "limit", kDefaultLimit, 1, kMaxLimit, w);
  if (!limit) return;
  auto offset = QueryInt(target, "offset", 0, 0, 1 << 30, w);
  if (!offset) return;
  auto reports = tools::ListToolGapReports(*ctx.db, *limit, *offset);
  if (!reports.ok()) return w.SendError(reports.error());
  json out = json::array();
  for (const auto& r : *reports) out.push_back(tools::ToJson(r));
  w.SendJson(http::status::ok, {{"reports", out}});
}

}  // namespace

void RegisterApprovalRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/api/approvals",
               [&ctx](const Request& req, const PathParams&, ResponseWriter& w) { ListApprovals(ctx, req, w); });
  server.Route(http::verb::get, "/api/approvals/{id}",
               [&ctx](const Request& req, const PathParams& p, ResponseWriter& w) { GetApproval(ctx, req, p, w); });
  server.Route(http::verb::post, "/api/approvals/{id}",
               [&ctx](const Request& req, const PathParams& p, ResponseWriter& w) { DecideApproval(ctx, req, p, w); });
  server.Route(http::verb::get, "/api/tool-gaps",
               [&ctx](const Request& req, const PathParams&, ResponseWriter& w) { ListToolGaps(ctx, req, w); });
}

}  // namespace steward::gateway
