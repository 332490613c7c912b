#include "app/server.hpp"

#include "app/home.hpp"
#include "app/scheduler_setup.hpp"
#include "app/memory_setup.hpp"
#include "app/tool_servers.hpp"
#include "app/tracing_setup.hpp"

#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/chat_service.hpp"
#include "engine/workflow_engine.hpp"
#include "engine/run_registry.hpp"
#include "gateway/api.hpp"
#include "gateway/auth.hpp"
#include "gateway/http_server.hpp"
#include "gateway/schedule_routes.hpp"
#include "memory/ingest/crawler.hpp"
#include "memory/ingest/ingester.hpp"
#include "memory/memory_tool_provider.hpp"
#include "memory/session_store.hpp"
#include "models/model_gateway.hpp"
#include "models/model_router.hpp"
#include "runners/worker_pool.hpp"
#include "store/database.hpp"
#include "store/embedded_postgres.hpp"
#include "store/migrations.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/span_store.hpp"
#include "telemetry/tracer.hpp"
#include "tools/approval_gate.hpp"
#include "tools/approval_store.hpp"
#include "tools/budget_approvals.hpp"
#include "models/budget_guard.hpp"
#include "tools/builtin/builtin_tools.hpp"
#include "tools/builtin/escalation_tool_provider.hpp"
#include "tools/mcp_endpoint.hpp"
#include "tools/mcp_hub.hpp"
#include "tools/risk_policy.hpp"
#include "tools/tool_registry.hpp"

namespace steward::app {

namespace fs = std::filesystem;

// Members in start order; Stop() tears down in reverse.
struct Server::Parts {
  ServerOptions options;
  std::string url;
  std::string owner_token;
  std::unique_ptr<store::EmbeddedPostgres> embedded_pg;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<memory::SessionStore> sessions;
  std::atomic<runners::WorkerPool*> embed_pool{nullptr};  // `workers` once started, for local embeddings
  std::unique_ptr<memory::MemoryIndex> memory;
  std::unique_ptr<memory::ingest::MemoryIndexSink> ingest_sink;
  std::unique_ptr<memory::ingest::Ingester> ingester;  // `steward ingest` and the crawler
  std::unique_ptr<memory::ingest::Crawler> crawler;    // memory.ingest.folders; null when none
  std::shared_ptr<telemetry::Tracer> tracer;  // installed process-wide; null when tracing is off
  std::unique_ptr<telemetry::SpanStore> spans;
  std::unique_ptr<models::ModelGateway> models;
  std::unique_ptr<tools::RiskPolicy> policy;             // `tools` holds pointers to these three,
  std::unique_ptr<tools::PgApprovalStore> approval_store;  // so they are declared before it
  std::unique_ptr<tools::ApprovalGate> approvals;
  std::unique_ptr<tools::ToolRegistry> tools;
  std::unique_ptr<tools::McpEndpoint> mcp;
  std::unique_ptr<tools::McpHub> mcp_servers;  // registers into `tools`, so declared after it
  std::unique_ptr<engine::RunRegistry> runs;
  std::unique_ptr<gateway::Authenticator> auth;
  std::unique_ptr<runners::WorkerPool> workers;
  std::unique_ptr<engine::ChatService> chat;
  // Workflow runs; the scheduler starts runs through workflows->StartWorkflowRun.
  std::unique_ptr<engine::WorkflowEngine> workflows;
  std::unique_ptr<engine::Scheduler> scheduler;  // fires scheduled workflows; null when none has a schedule
  gateway::ApiContext api;
  std::unique_ptr<gateway::HttpServer> http;
  std::atomic<bool> ready{false};
  bool stopped = false;
};

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return MakeError(ErrorCode::kConfig, "expected HOST:PORT, got \"" + listen + "\"", "listen");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) {
    return MakeError(ErrorCode::kConfig, "expected a port number 0..65535 in \"" + listen + "\"", "listen");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<std::string> FindWorkerPython(const Config& config) {
  if (!config.workers.python.empty()) return config.workers.python;
  if (const char* env = std::getenv("STEWARD_WORKER_PYTHON"); env && *env) return std::string(env);
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (int up = 0; up < 5 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const fs::path candidate = dir / ".venv/bin/python";
    if (fs::exists(candidate, ec)) return candidate.string();
    if (dir == dir.root_path()) break;
  }
  if (fs::exists("/opt/steward/venv/bin/python", ec)) return std::string("/opt/steward/venv/bin/python");
  return MakeError(ErrorCode::kConfig,
                   "cannot find the Python that runs workers: set workers.python in the config or "
                   "STEWARD_WORKER_PYTHON, or run the README's setup command (it creates .venv)",
                   "workers.python");
}

namespace {

// Each provider's circuit breaker, for /healthz and `steward doctor`.
nlohmann::json ProviderHealth(const models::ModelGateway& models) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : models.Breakers()) {
    nlohmann::json entry = {{"name", b.provider}, {"breaker", models::BreakerStateName(b.state)},
                            {"recent_failures", b.recent_failures}, {"times_opened", b.times_opened}};
    if (b.state == models::BreakerState::kOpen) entry["retry_in_s"] = b.retry_in_s;
    if (!b.last_error.empty()) entry["last_error"] = b.last_error;
    out.push_back(std::move(entry));
  }
  return out;
}

Status StartStorage(Server::Parts& p) {
  std::string url = p.options.config.database.url;
  if (url.empty()) {
    auto pg = store::EmbeddedPostgres::Start(p.options.home);
    if (!pg.ok()) return pg.error();
    p.embedded_pg = std::move(*pg);
    url = p.embedded_pg->url();
  }
  auto db = store::Database::Connect(url, p.options.config.database.pool_size);
  if (!db.ok()) return db.error();
  p.db = std::move(*db);
  STEWARD_RETURN_IF_ERROR(store::ApplyMigrations(*p.db));
  p.sessions = std::make_unique<memory::SessionStore>(*p.db);
  return Status::Ok();
}

// The risk policy and the approval gate every tool call through the registry passes.
Status StartApprovals(Server::Parts& p) {
  tools::RiskPolicyConfig policy = p.options.config.policy;
  if (policy.scratch_dir.empty()) policy.scratch_dir = p.options.home / "scratch";
  std::error_code ec;
  fs::create_directories(policy.scratch_dir, ec);
  if (ec) spdlog::warn("cannot create the scratch folder {}: {}", policy.scratch_dir.string(), ec.message());
  p.policy = std::make_unique<tools::RiskPolicy>(policy);
  p.approval_store = std::make_unique<tools::PgApprovalStore>(*p.db);
  tools::ApprovalGateOptions options;
  options.timeout = policy.approval_timeout;
  p.approvals = std::make_unique<tools::ApprovalGate>(*p.approval_store, options);
  if (auto recovered = p.approvals->RecoverAfterRestart(); !recovered.ok()) return recovered.error();
  p.tools->SetRiskPolicy(p.policy.get(), p.approvals.get());
  return Status::Ok();
}

Status StartModelsAndTools(Server::Parts& p) {
  const Config& config = p.options.config;
  for (const auto& provider : config.providers) telemetry::RegisterSecret(provider.api_key);
  auto router = models::ModelRouter::Create(config.providers, config.models);
  if (!router.ok()) return router.error();
  p.models = std::make_unique<models::ModelGateway>(std::move(*router), p.db.get());
  p.tools = std::make_unique<tools::ToolRegistry>();
  STEWARD_RETURN_IF_ERROR(StartApprovals(p));
  if (config.budgets.enabled()) {  // budgets ask the owner through the approval gate
    models::BudgetGuardOptions budget_options;
    budget_options.approval_timeout = std::chrono::duration_cast<std::chrono::seconds>(config.policy.approval_timeout);
    p.models->SetBudgetGuard(std::make_unique<models::BudgetGuard>(config.budgets, *p.db,
                                                                   tools::MakeBudgetApprover(*p.approvals), budget_options));
  }
  auto memory_index = OpenMemoryIndex(config.memory, *p.db, p.embed_pool);
  if (!memory_index.ok()) return memory_index.error();
  p.memory = std::move(*memory_index);
  p.ingest_sink = std::make_unique<memory::ingest::MemoryIndexSink>(*p.memory);
  p.ingester = std::make_unique<memory::ingest::Ingester>(*p.db, *p.ingest_sink, config.memory.ingest.options);
  STEWARD_RETURN_IF_ERROR(p.tools->Register(std::make_shared<memory::MemoryToolProvider>(*p.db, p.memory.get())));
  std::vector<std::string> mcp_names;  // an MCP server configured under a built-in's name wins
  for (const auto& server : config.mcp_servers) mcp_names.push_back(server.name);
  STEWARD_RETURN_IF_ERROR(tools::builtin::RegisterBuiltinTools(*p.tools, *p.db, config.tools, mcp_names));
  // steward.escalate: worker frameworks (LangGraph interrupts) ask the owner through the approval gate.
  if (std::find(mcp_names.begin(), mcp_names.end(), "steward") == mcp_names.end()) {
    STEWARD_RETURN_IF_ERROR(p.tools->Register(std::make_shared<tools::builtin::EscalationToolProvider>()));
  }
  // A server that cannot start is logged and left restarting; Steward starts without it.
  auto mcp_servers = PrepareMcpServers(config, p.options.home);
  if (!mcp_servers.ok()) return mcp_servers.error();
  p.mcp_servers = std::make_unique<tools::McpHub>(*p.tools);
  STEWARD_RETURN_IF_ERROR(p.mcp_servers->Start(*mcp_servers));
  p.mcp = std::make_unique<tools::McpEndpoint>(*p.tools);
  return Status::Ok();
}

Status StartHttp(Server::Parts& p) {
  auto listen = ParseListen(p.options.listen.empty() ? p.options.config.server.listen : p.options.listen);
  if (!listen.ok()) return listen.error();
  p.runs = std::make_unique<engine::RunRegistry>();
  p.auth = std::make_unique<gateway::Authenticator>(p.owner_token, *p.runs);
  p.api.auth = p.auth.get();
  p.api.runs = p.runs.get();
  p.api.sessions = p.sessions.get();
  p.api.models = p.models.get();
  p.api.tools = p.tools.get();
  p.api.mcp = p.mcp.get();
  p.api.approvals = p.approvals.get();
  p.api.db = p.db.get();
  p.api.mcp_servers = p.mcp_servers.get();
  p.api.spans = p.spans.get();
  p.api.memory = p.memory.get();
  p.api.ingest = p.ingester.get();
  Server::Parts* parts = &p;
  p.api.health = [parts]() -> nlohmann::json {
    nlohmann::json workers = nlohmann::json::array();
    if (parts->workers) {
      for (const auto& h : parts->workers->Health()) {
        workers.push_back({{"pid", h.pid}, {"state", h.state}, {"in_flight", h.in_flight}, {"restarts", h.restarts}});
      }
    }
    return {{"status", parts->ready ? "ok" : "starting"}, {"version", "0.1.0"}, {"workers", workers},
            {"live_runs", parts->runs->size()}, {"providers", ProviderHealth(*parts->models)}};
  };
  p.http = std::make_unique<gateway::HttpServer>();
  // Until everything is up, every route but /healthz answers 503 (ApiContext::ready).
  gateway::RegisterChatRoutes(*p.http, p.api);
  gateway::RegisterOpenAiRoutes(*p.http, p.api);
  gateway::RegisterMcpRoutes(*p.http, p.api);
  gateway::RegisterApprovalRoutes(*p.http, p.api);
  gateway::RegisterToolsRoutes(*p.http, p.api);
  gateway::RegisterTraceRoutes(*p.http, p.api);
  gateway::RegisterMemoryRoutes(*p.http, p.api);
  gateway::RegisterIngestRoutes(*p.http, p.api);
  gateway::RegisterWorkflowRoutes(*p.http, p.api);
  gateway::RegisterScheduleRoutes(*p.http, p.api, [parts] { return SchedulesJson(parts->scheduler.get()); });
  gateway::RegisterMetricsRoutes(*p.http, p.api);
  gateway::HttpServerOptions http_options;
  http_options.host = listen->first;
  http_options.port = listen->second;
  auto port = p.http->Start(http_options);
  if (!port.ok()) return port.error();
  const std::string host = listen->first == "0.0.0.0" ? "127.0.0.1" : listen->first;
  p.url = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(*port);
  return Status::Ok();
}

// A tuning knob read from the environment (milliseconds), for tests that kill processes.
std::chrono::milliseconds EnvMs(const char* name, std::chrono::milliseconds fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return std::chrono::milliseconds(std::max(50L, std::stol(v)));
  } catch (const std::exception&) {
    return fallback;
  }
}

// The durable workflow engine: adopts runs left by a dead process, then serves new ones.
Status StartWorkflowEngine(Server::Parts& p) {
  const Config& config = p.options.config;
  engine::WorkflowEngineOptions options;
  options.workflows = config.workflows;
  for (const auto& [name, agent] : config.agents) options.agents[name] = agent;
  options.core_base_url = p.url;
  options.lease = EnvMs("STEWARD_WORKFLOW_LEASE_MS", options.lease);
  options.adopt_interval = EnvMs("STEWARD_WORKFLOW_ADOPT_MS", options.adopt_interval);
  if (std::getenv("STEWARD_WORKFLOW_STEP_PAUSE_MS") != nullptr) {
    options.step_pause = EnvMs("STEWARD_WORKFLOW_STEP_PAUSE_MS", options.step_pause);
  }
  p.workflows = std::make_unique<engine::WorkflowEngine>(*p.db, *p.runs, p.workers.get(), p.tools.get(),
                                                         p.models.get(), std::move(options));
  STEWARD_RETURN_IF_ERROR(p.workflows->Start());
  p.api.workflows = p.workflows.get();
  return Status::Ok();
}

Status StartWorkersAndChat(Server::Parts& p) {
  const Config& config = p.options.config;
  auto python = FindWorkerPython(config);
  if (!python.ok()) return python.error();
  runners::WorkerPoolOptions options;
  options.command = {*python, "-m", "steward_worker"};
  options.size = config.workers.pool_size;
  options.start_timeout = config.workers.start_timeout;
  // Where worker frameworks keep checkpoints (LangGraph: its own tables in schema steward_langgraph).
  options.env["STEWARD_CHECKPOINT_DB"] =
      p.embedded_pg ? p.embedded_pg->url() : config.database.url;
  auto pool = runners::WorkerPool::Start(options);
  if (!pool.ok()) return pool.error();
  p.workers = std::move(*pool);
  p.embed_pool.store(p.workers.get(), std::memory_order_release);
  STEWARD_RETURN_IF_ERROR(StartWorkflowEngine(p));

  engine::ChatServiceOptions chat;
  for (const auto& [name, agent] : config.agents) chat.agents[name] = agent;
  chat.default_agent = config.default_agent;
  chat.core_base_url = p.url;
  chat.tools = p.tools.get();
  // The engine's owner id and lease: its lease thread renews chat runs too, and ends those a dead
  // process left.
  chat.run_owner = p.workflows->options().owner_id;
  chat.run_lease = p.workflows->options().lease;
  p.chat = std::make_unique<engine::ChatService>(*p.db, *p.workers, *p.runs, std::move(chat));
  p.api.chat = p.chat.get();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  auto parts = std::make_unique<Parts>();
  parts->options = std::move(options);
  std::unique_ptr<Server> server(new Server(std::move(parts)));
  Parts& p = *server->parts_;
  STEWARD_RETURN_IF_ERROR(EnsureHome(p.options.home));
  auto token = LoadOrCreateOwnerToken(p.options.home);
  if (!token.ok()) return token.error();
  p.owner_token = *token;
  telemetry::RegisterSecret(p.owner_token);

  const auto t0 = std::chrono::steady_clock::now();
  STEWARD_RETURN_IF_ERROR(StartStorage(p));
  // Spans from here on reach the span table (and OTLP); see telemetry/tracer.hpp for why the
  // tracer is process-wide rather than passed to each component.
  p.spans = std::make_unique<telemetry::SpanStore>(*p.db, p.options.config.telemetry.service_name);
  p.tracer = MakeTracer(p.options.config.telemetry, *p.db, "0.1.0");
  telemetry::InstallTracer(p.tracer);
  STEWARD_RETURN_IF_ERROR(StartModelsAndTools(p));
  STEWARD_RETURN_IF_ERROR(StartHttp(p));
  STEWARD_RETURN_IF_ERROR(StartWorkersAndChat(p));
  // After the workers: the local embedder runs in them.
  if (!p.options.config.memory.ingest.folders.empty()) {
    p.crawler = std::make_unique<memory::ingest::Crawler>(*p.ingester, p.options.config.memory.ingest.folders);
  }
  // After the workflow engine: it starts the runs of scheduled workflows.
  if (p.workflows) {
    auto scheduler = StartScheduler(*p.db, p.options.config.workflows, *p.workflows);
    if (!scheduler.ok()) return scheduler.error();
    p.scheduler = std::move(*scheduler);
  }
  p.ready = true;
  p.api.ready.store(true, std::memory_order_release);
  spdlog::info("steward listening on {} (home {}, started in {:.0f} ms)", p.url, p.options.home.string(),
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return server;
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Server::~Server() { Stop(); }

const std::string& Server::url() const { return parts_->url; }
const std::string& Server::owner_token() const { return parts_->owner_token; }

void Server::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  p.ready = false;
  p.api.ready = false;
  if (p.chat) p.chat->BeginShutdown();  // runs cut short from here on are recorded cancelled
  if (p.scheduler) p.scheduler->Stop();  // no new scheduled runs (a claimed tick is re-tried elsewhere)
  // Before the approval gate and the workers stop: what that cuts short must not count as a
  // step failure. Runs stay `running` with their lease released; the next start resumes them.
  if (p.workflows) p.workflows->Stop();
  if (p.crawler) p.crawler->Stop();  // a crawl in progress ends at its next file boundary
  if (p.approvals) p.approvals->Shutdown();  // calls waiting for a decision are denied and return
  if (p.http) p.http->Stop();  // no new requests; open streams see their socket close
  if (p.workers) p.workers->Shutdown();  // fails in-flight runs, which records them as cancelled
  if (p.mcp_servers) p.mcp_servers->Stop();  // no run is left to call them
  p.scheduler.reset();  // after http: GET /api/schedules reads it
  p.workflows.reset();
  p.chat.reset();
  p.embed_pool.store(nullptr, std::memory_order_release);
  p.memory.reset();  // joins the background embedder (its worker calls were failed above)
  p.workers.reset();
  if (p.tracer) {
    // Spans of the runs just cancelled are in the queue: export them while the database is up.
    if (telemetry::ActiveTracer() == p.tracer) telemetry::InstallTracer(nullptr);
    p.tracer->Shutdown();
  }
  p.db.reset();
  if (p.embedded_pg) {
    if (Status s = p.embedded_pg->Stop(); !s.ok()) spdlog::warn("stopping PostgreSQL: {}", s.error().ToString());
  }
}

}  // namespace steward::app
