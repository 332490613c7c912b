#pragma once
// The HTTP surface: which routes exist and what each needs. Route handlers live in
// chat_routes.cpp (/healthz, /api/*), openai_routes.cpp (/v1/*) and mcp_routes.cpp (/mcp).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/chat_service.hpp"
#include "engine/run_registry.hpp"
#include "gateway/auth.hpp"
#include "gateway/http_server.hpp"
#include "memory/session_store.hpp"
#include "models/model_gateway.hpp"
#include "tools/mcp_endpoint.hpp"
#include "tools/tool_registry.hpp"

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
  std::function<nlohmann::json()> health;  // body of /healthz
  // Set once every pointer above is valid; until then only /healthz answers (503 elsewhere).
  std::atomic<bool> ready{false};
};

// The caller, or the error to answer with: kUnavailable while starting, else Authenticator's.
[[nodiscard]] Result<Principal> Authenticate(const ApiContext& ctx, const Request& request);

void RegisterChatRoutes(HttpServer& server, ApiContext& ctx);
void RegisterOpenAiRoutes(HttpServer& server, ApiContext& ctx);
void RegisterMcpRoutes(HttpServer& server, ApiContext& ctx);

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
