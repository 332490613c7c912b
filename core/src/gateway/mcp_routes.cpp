// /mcp: the hub's tools as a Streamable HTTP MCP server. A run's token sees the tools its agent
// may use and its calls are attributed to the run (events, counters); the owner token sees all.

#include "gateway/api.hpp"

namespace steward::gateway {

namespace {

std::string HeaderValue(const Request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

tools::CallContext ContextFor(const Principal& principal) {
  tools::CallContext ctx;
  if (principal.owner()) {
    ctx.principal = "owner";
    ctx.allowed_tools = {"*"};
    return ctx;
  }
  std::shared_ptr<engine::LiveRun> run = principal.run;
  ctx.principal = "run";
  ctx.run_id = run->id();
  ctx.session_id = run->identity().session_id;
  ctx.allowed_tools = run->identity().tools;
  ctx.risk_threshold = run->identity().risk_threshold;
  // A call waiting for approval gives up when its run is cancelled or has ended.
  ctx.cancelled = [run] { return run->cancel_requested() || run->finished(); };
  // Whether the call in flight on this request started after another tool had failed (one
  // request carries one call, and its events come on this thread).
  auto after_failure = std::make_shared<bool>(false);
  ctx.emit = [run, after_failure](std::string_view type, nlohmann::json data) {
    if (type == "tool_call") {
      run->MarkProgress(false);
      *after_failure = run->counters().FailedOtherThan(data.value("tool", ""));
    }
    if (type == "tool_result") {
      engine::RunCounters& c = run->counters();
      c.tool_calls += 1;
      if (!data.value("ok", false)) {
        c.tool_errors += 1;
        c.RecordToolFailure(data.value("tool", ""));
      } else {
        if (*after_failure) c.used_fallback = true;
        if (auto count = data.find("count"); count != data.end() && count->is_number_integer()) {
          c.sources += count->get<int64_t>();
        }
      }
    }
    run->Emit(std::string(type), std::move(data));
  };
  return ctx;
}

void HandleMcp(ApiContext& ctx, const Request& req, ResponseWriter& w) {
  auto principal = Authenticate(ctx, req);
  if (!principal.ok()) {
    // MCP clients expect the standard challenge on 401.
    const Error& e = principal.error();
    w.Send(static_cast<http::status>(Describe(e.code).http_status), "application/json",
           nlohmann::json({{"jsonrpc", "2.0"},
                           {"id", nullptr},
                           {"error", {{"code", Describe(e.code).json_rpc_code}, {"message", e.ToString()}}}})
               .dump(),
           {{"WWW-Authenticate", "Bearer realm=\"steward\""}});
    return;
  }
  tools::McpHttpRequest mcp_req;
  mcp_req.http_method = std::string(req.method_string());
  mcp_req.body = req.body();
  mcp_req.session_id = HeaderValue(req, "Mcp-Session-Id");
  mcp_req.protocol_version = HeaderValue(req, "MCP-Protocol-Version");
  mcp_req.accept = HeaderValue(req, "Accept");
  tools::CallContext call_ctx = ContextFor(*principal);
  call_ctx.trace_parent = TraceParentFor(req, *principal);
  tools::McpHttpResponse res = ctx.mcp->Handle(mcp_req, call_ctx);
  w.Send(static_cast<http::status>(res.status), res.content_type.empty() ? "application/json" : res.content_type,
         std::move(res.body), res.headers);
}

}  // namespace

void RegisterMcpRoutes(HttpServer& server, ApiContext& ctx) {
  for (http::verb verb : {http::verb::post, http::verb::get, http::verb::delete_}) {
    server.Route(verb, "/mcp", [&ctx](const Request& req, const PathParams&, ResponseWriter& w) { HandleMcp(ctx, req, w); });
  }
}

}  // namespace steward::gateway
