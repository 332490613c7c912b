#include "tools/mcp_server_provider.hpp"

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "tools/risk_policy.hpp"

namespace steward::tools {

namespace {

using nlohmann::json;

std::string SecondsText(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

void Add(McpFrameStats& into, const McpFrameStats& more) {
  into.bad_frames += more.bad_frames;
  into.oversized += more.oversized;
  into.unknown_ids += more.unknown_ids;
  into.server_requests += more.server_requests;
}

// "3/10 files" or the server's message, for a status line.
std::string ProgressText(const json& progress) {
  if (auto m = progress.find("message"); m != progress.end() && m->is_string() && !m->get_ref<const std::string&>().empty()) {
    return m->get<std::string>();
  }
  std::string text = progress.value("progress", json(0)).dump();
  if (auto total = progress.find("total"); total != progress.end() && total->is_number()) {
    text += "/" + total->dump();
  }
  return text;
}

}  // namespace

std::string_view StateName(McpServerState state) {
  switch (state) {
    case McpServerState::kStarting: return "starting";
    case McpServerState::kReady: return "ready";
    case McpServerState::kRestarting: return "restarting";
    case McpServerState::kDisabled: return "disabled";
    case McpServerState::kStopped: return "stopped";
  }
  return "unknown";
}

McpServerProvider::McpServerProvider(McpServerConfig config, McpProviderOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      state_(config_.enabled ? McpServerState::kStarting : McpServerState::kDisabled) {}

McpServerProvider::~McpServerProvider() { Stop(); }

void McpServerProvider::Start() {
  if (!config_.enabled || supervisor_.joinable()) {
    std::lock_guard lock(mu_);
    first_attempt_done_ = true;
    return;
  }
  // The supervisor spawns the server, so the server's PDEATHSIG is tied to this long-lived
  // thread rather than to whichever request thread happened to start it.
  supervisor_ = std::thread([this] { Supervise(); });
}

bool McpServerProvider::WaitForFirstAttempt(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, limit, [this] { return first_attempt_done_ || stopping_; });
  return state_ == McpServerState::kReady;
}

void McpServerProvider::Stop() {
  std::shared_ptr<McpClient> connecting;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    connecting = connecting_;
  }
  cv_.notify_all();
  // A server that hangs in its handshake would otherwise hold Stop for the whole timeout.
  if (connecting) connecting->Close();
  if (supervisor_.joinable()) supervisor_.join();
  std::lock_guard lock(mu_);
  if (state_ != McpServerState::kDisabled) state_ = McpServerState::kStopped;
  client_.reset();
  pid_ = 0;
}

McpServerHealth McpServerProvider::Health() const {
  McpServerHealth h;
  std::shared_ptr<McpClient> client;
  {
    std::lock_guard lock(mu_);
    h.name = config_.name;
    h.transport = config_.transport;
    h.state = state_;
    h.tool_count = tools_->size();
    h.last_error = last_error_;
    h.pid = pid_;
    h.restarts = restarts_;
    h.protocol_version = protocol_version_;
    h.server_info = server_info_;
    h.frames = frames_;
    if (state_ == McpServerState::kRestarting) {
      h.retry_in = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                retry_at_ - std::chrono::steady_clock::now()));
    }
    client = client_;
  }
  if (client) Add(h.frames, client->stats());
  return h;
}

std::vector<ToolInfo> McpServerProvider::ListTools() const {
  std::lock_guard lock(mu_);
  return *tools_;
}

std::shared_ptr<const ToolInfo> McpServerProvider::FindTool(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& info : *tools_) {
    // Shares ownership of the whole list: no copy of the tool's schema per call.
    if (info.name == name) return std::shared_ptr<const ToolInfo>(tools_, &info);
  }
  return nullptr;
}

Error McpServerProvider::Unavailable() const {
  const std::string who = "MCP server '" + config_.name + "'";
  std::lock_guard lock(mu_);
  switch (state_) {
    case McpServerState::kDisabled:
      return MakeError(ErrorCode::kUnavailable,
                       who + " is disabled (mcp_servers." + config_.name + ".enabled is false)",
                       config_.name);
    case McpServerState::kStopped:
      return MakeError(ErrorCode::kUnavailable, who + " is stopped", config_.name);
    case McpServerState::kStarting:
      return MakeError(ErrorCode::kUnavailable, who + " is still starting; try again shortly",
                       config_.name);
    default: {
      const auto left = std::max(std::chrono::milliseconds(0),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     retry_at_ - std::chrono::steady_clock::now()));
      std::string message = who + " is restarting";
      if (!last_error_.empty()) message += " after: " + last_error_;
      message += left.count() > 0 ? " (next attempt in " + SecondsText(left) + ")"
                                  : " (reconnecting now)";
      return MakeError(ErrorCode::kUnavailable, std::move(message), config_.name);
    }
  }
}

Result<ToolCallResult> McpServerProvider::Call(std::string_view tool, const json& args,
                                               const CallContext& ctx) {
  std::shared_ptr<McpClient> client;
  {
    std::lock_guard lock(mu_);
    client = client_;
  }
  if (!client) return Unavailable();
  McpProgressFn on_progress;
  if (ctx.emit) {
    const std::string name = config_.name + "." + std::string(tool);
    on_progress = [emit = ctx.emit, run_id = ctx.run_id, name](const json& progress) {
      emit("status", {{"run_id", run_id}, {"text", name + ": " + ProgressText(progress)}});
    };
  }
  return client->CallTool(tool, args, config_.timeout, std::move(on_progress));
}

void McpServerProvider::SetTools(const std::vector<McpToolDefinition>& defs) {
  std::vector<ToolInfo> tools;
  tools.reserve(defs.size());
  for (const auto& def : defs) {
    ToolInfo info;
    info.name = config_.name + "." + def.name;
    info.server = config_.name;
    info.description = def.description.empty() ? def.title : def.description;
    info.input_schema = def.input_schema;
    // The server's annotations may raise the tier the name gives, never lower it.
    info.risk_tier = DefaultTier(info.name, def.annotations);
    tools.push_back(std::move(info));
  }
  std::sort(tools.begin(), tools.end(),
            [](const ToolInfo& a, const ToolInfo& b) { return a.name < b.name; });
  std::lock_guard lock(mu_);
  tools_ = std::make_shared<const std::vector<ToolInfo>>(std::move(tools));
}

Result<std::shared_ptr<McpClient>> McpServerProvider::Connect() {
  McpClientOptions options;
  options.server = config_.name;
  options.timeout = config_.timeout;
  // The callbacks only flip flags: they run on the client's transport threads.
  options.on_closed = [this](const Error& why) {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      last_error_ = why.message;
    }
    cv_.notify_all();
  };
  options.on_tools_changed = [this] {
    {
      std::lock_guard lock(mu_);
      refresh_ = true;
    }
    cv_.notify_all();
  };
  options.on_problem = [this](const std::string& problem) {
    std::lock_guard lock(mu_);
    last_error_ = problem;
  };
  {
    std::lock_guard lock(mu_);
    closed_ = false;
    refresh_ = false;
  }
  auto client = std::make_shared<McpClient>(options_.make_transport(config_), std::move(options));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "stopping", config_.name);
    connecting_ = client;
  }
  Status connected = client->Connect();
  Result<std::vector<McpToolDefinition>> tools =
      connected.ok() ? client->ListTools() : Result<std::vector<McpToolDefinition>>(connected.error());
  {
    std::lock_guard lock(mu_);
    connecting_.reset();
  }
  if (!tools.ok()) {
    client->Close();
    return tools.error();
  }
  SetTools(*tools);
  return client;
}

void McpServerProvider::Serve(const std::shared_ptr<McpClient>& client) {
  for (;;) {
    bool refresh = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || closed_ || refresh_; });
      if (stopping_ || closed_) return;
      refresh = std::exchange(refresh_, false);
    }
    if (refresh) {
      // Listed here, not in the notification callback: the answer arrives on the very thread
      // that delivered the notification, which must not wait for it.
      auto tools = client->ListTools();
      if (tools.ok()) {
        SetTools(*tools);
        spdlog::info("mcp {}: tool list refreshed ({} tools)", config_.name, tools->size());
      } else {
        spdlog::warn("mcp {}: refreshing the tool list failed: {}", config_.name,
                     tools.error().message);
        std::lock_guard lock(mu_);
        last_error_ = tools.error().message;
      }
    }
  }
}

bool McpServerProvider::WaitBackoff(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  retry_at_ = std::chrono::steady_clock::now() + delay;
  return !cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void McpServerProvider::Supervise() {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  bool ever_ready = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      retry_at_ = std::chrono::steady_clock::now();
    }
    auto connected = Connect();
    if (!connected.ok()) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      const std::string why = connected.error().message;
      spdlog::warn("mcp {}: cannot start: {} (retrying in {})", config_.name, why,
                   SecondsText(backoff));
      {
        std::lock_guard lock(mu_);
        state_ = McpServerState::kRestarting;
        last_error_ = why;
        first_attempt_done_ = true;
      }
      cv_.notify_all();
      if (!WaitBackoff(backoff)) return;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    std::shared_ptr<McpClient> client = std::move(*connected);
    const auto up_since = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      if (ever_ready) ++restarts_;
      state_ = McpServerState::kReady;
      client_ = client;
      pid_ = client->pid();
      protocol_version_ = client->protocol_version();
      server_info_ = client->server_info();
      first_attempt_done_ = true;
    }
    cv_.notify_all();
    ever_ready = true;
    spdlog::info("mcp {}: ready ({} tools, protocol {}{})", config_.name, ListTools().size(),
                 client->protocol_version(),
                 client->pid() ? ", pid " + std::to_string(client->pid()) : std::string());

    Serve(client);

    bool stopping = false;
    std::string why;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
      // Calls from now on fail fast; the tool list stays so they reach Call and say why.
      client_.reset();
      pid_ = 0;
      if (!stopping) state_ = McpServerState::kRestarting;
      why = last_error_;
    }
    client->Close();
    {
      std::lock_guard lock(mu_);
      Add(frames_, client->stats());
    }
    if (stopping) return;
    if (std::chrono::steady_clock::now() - up_since >= options_.healthy_reset) {
      backoff = options_.initial_backoff;
    }
    spdlog::warn("mcp {}: {}; restarting in {}", config_.name, why, SecondsText(backoff));
    if (!WaitBackoff(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace steward::tools
