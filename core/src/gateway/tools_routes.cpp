// GET /api/tools: the hub's tools as they are right now, with the health of the servers that
// provide them. The owner sees every tool; a run's token sees the tools its agent may use.

#include <map>

#include "gateway/api.hpp"

namespace steward::gateway {

namespace {

using nlohmann::json;

json ServerJson(const tools::McpServerHealth& h) {
  json server = {{"name", h.name},
                 {"transport", std::string(tools::TransportName(h.transport))},
                 {"health", std::string(tools::StateName(h.state))},
                 {"tool_count", h.tool_count},
                 {"last_error", h.last_error.empty() ? json(nullptr) : json(h.last_error)},
                 {"restarts", h.restarts},
                 {"protocol_version", h.protocol_version.empty() ? json(nullptr) : json(h.protocol_version)},
                 {"server_info", h.server_info},
                 {"bad_frames", h.frames.bad_frames + h.frames.oversized + h.frames.unknown_ids}};
  if (h.pid != 0) server["pid"] = h.pid;
  if (h.state == tools::McpServerState::kRestarting) {
    server["retry_in_s"] = static_cast<double>(h.retry_in.count()) / 1000.0;
  }
  return server;
}

void HandleListTools(ApiContext& ctx, const Request& req, ResponseWriter& w) {
  auto principal = RequirePrincipal(ctx, req, w);
  if (!principal) return;
  tools::CallContext call;
  call.allowed_tools = principal->owner() ? std::vector<std::string>{"*"} : principal->run->identity().tools;
  const std::vector<tools::ToolInfo> visible = ctx.tools->List(call);

  json tool_list = json::array();
  std::map<std::string, size_t> per_server;
  for (const auto& t : visible) {
    ++per_server[t.server];
    tool_list.push_back({{"name", t.name},
                         {"server", t.server},
                         {"description", t.description},
                         {"risk_tier", t.risk_tier},
                         {"input_schema", t.input_schema}});
  }

  json servers = json::array();
  std::map<std::string, bool> listed;
  if (ctx.mcp_servers != nullptr) {
    for (const auto& health : ctx.mcp_servers->Health()) {
      servers.push_back(ServerJson(health));
      listed[health.name] = true;
    }
  }
  // Providers compiled into Steward (memory, web, ...) have no connection to be unhealthy.
  for (const auto& [name, count] : per_server) {
    if (listed.count(name) != 0) continue;
    servers.push_back({{"name", name},
                       {"transport", "builtin"},
                       {"health", "ready"},
                       {"tool_count", count},
                       {"last_error", nullptr}});
  }
  w.SendJson(http::status::ok, {{"servers", std::move(servers)}, {"tools", std::move(tool_list)}});
}

}  // namespace

void RegisterToolsRoutes(HttpServer& server, ApiContext& ctx) {
  server.Route(http::verb::get, "/api/tools",
               [&ctx](const Request& req, const PathParams&, ResponseWriter& w) { HandleListTools(ctx, req, w); });
}

}  // namespace steward::gateway
