#pragma once
// The HTTP surface: which routes exist and what each needs. Route handlers live in
// chat_routes.cpp (/healthz, /api/*), openai_routes.cpp (/v1/*), mcp_routes.cpp (/mcp) and
// trace_routes.cpp (/api/runs/{id}, /api/runs/{id}/trace).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/chat_service.hpp"
#include "engine/run_registry.hpp"
#include "gateway/auth.hpp"
#include "gateway/http_server.hpp"
#include "memory/ingest/ingester.hpp"
#include "memory/memory_index.hpp"
#include "memory/session_store.hpp"
#include "models/model_gateway.hpp"
#include "telemetry/span_store.hpp"
#include "tools/approval_gate.hpp"
#include "tools/mcp_endpoint.hpp"
#include "tools/mcp_hub.hpp"
#include "tools/tool_registry.hpp"

namespace steward::engine {
class WorkflowEngine;
}

namespace steward::gateway {

// Everything the handlers use; owned by the app, outlives the server.
struct ApiContext {
  Authenticator* auth = nullptr;
  engine::ChatService* chat = nullptr;
  engine::RunRegistry* runs = nullptr;
  memory::SessionStore* sessions = nullptr;
  models::ModelGateway* models = nullptr;
  tools::ToolRegistry* tools = nullptr;
  tools::McpEndpoint* mcp = nullptr;
  tools::ApprovalGate* approvals = nullptr;  // held tool calls (approval_routes.cpp)
  store::Database* db = nullptr;             // tool-gap reports (approval_routes.cpp)
  tools::McpHub* mcp_servers = nullptr;  // health of the configured MCP servers (tools_routes.cpp)
  telemetry::SpanStore* spans = nullptr;  // runs and their traces (trace_routes.cpp)
  memory::MemoryIndex* memory = nullptr;  // hybrid memory search (memory_routes.cpp)
  memory::ingest::Ingester* ingest = nullptr;  // POST /api/ingest (ingest_routes.cpp)
  engine::WorkflowEngine* workflows = nullptr;  // workflow runs (workflow_routes.cpp); null: none
  std::function<nlohmann::json()> health;  // body of /healthz
  // Set once every pointer above is valid; until then only /healthz answers (503 elsewhere).
  std::atomic<bool> ready{false};
};

// The caller, or the error to answer with: kUnavailable while starting, else Authenticator's.
[[nodiscard]] Result<Principal> Authenticate(const ApiContext& ctx, const Request& request);

void RegisterChatRoutes(HttpServer& server, ApiContext& ctx);
void RegisterOpenAiRoutes(HttpServer& server, ApiContext& ctx);
void RegisterMcpRoutes(HttpServer& server, ApiContext& ctx);
// GET /api/approvals[/{id}], POST /api/approvals/{id}, GET /api/tool-gaps
void RegisterApprovalRoutes(HttpServer& server, ApiContext& ctx);
void RegisterToolsRoutes(HttpServer& server, ApiContext& ctx);  // GET /api/tools
void RegisterTraceRoutes(HttpServer& server, ApiContext& ctx);  // GET /api/runs/{id}[/trace]
void RegisterMemoryRoutes(HttpServer& server, ApiContext& ctx);  // GET /api/memory/search
void RegisterIngestRoutes(HttpServer& server, ApiContext& ctx);  // POST /api/ingest (SSE)
// GET /api/workflows, POST /api/workflows/{name}/runs (JSON or SSE), GET /api/runs
void RegisterWorkflowRoutes(HttpServer& server, ApiContext& ctx);
// A workflow run's row with its steps (timings, inputs, outputs, errors, attempts), for
// /api/runs/{id}; null when `run_id` is not a workflow run or there is no engine.
[[nodiscard]] nlohmann::json WorkflowRunDetails(const ApiContext& ctx, const std::string& run_id);
// GET /metrics (Prometheus text), GET /api/metrics/summary (success metrics); owner only
void RegisterMetricsRoutes(HttpServer& server, ApiContext& ctx);

// The parent for spans of a /v1 or /mcp call: the request's W3C `traceparent` (for a run's token,
// only one in the run's own trace), else the run's root span; invalid for an owner call without one.
[[nodiscard]] telemetry::SpanContext TraceParentFor(const Request& request, const Principal& principal);

// Authenticates or answers 401 itself; returns nullopt when it answered.
std::optional<Principal> RequirePrincipal(const ApiContext& ctx, const Request& request, ResponseWriter& writer);

// Parses a JSON object body or answers 400 naming the problem; nullopt when it answered.
std::optional<nlohmann::json> RequireJsonObject(const Request& request, ResponseWriter& writer);

// Relays a run's events to `on_event` until the terminal one, cancelling the run if the client
// goes away (on_event returns false, or the peer closes while the run is quiet).
// Returns true if the terminal event was delivered.
bool PumpRun(engine::LiveRun& run, engine::ChatService& chat, ResponseWriter& writer,
             const std::function<bool(const engine::RunEvent&)>& on_event);

}  // namespace steward::gateway
