#include "tools/tool_registry.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <random>

#include <spdlog/spdlog.h>

#include "telemetry/instruments.hpp"
#include "tools/approval_gate.hpp"
#include "tools/glob.hpp"
#include "tools/risk_policy.hpp"
#include "tools/schema_validator.hpp"
#include "tools/tool_tracing.hpp"

namespace steward::tools {

namespace {

using nlohmann::json;

constexpr size_t kSummaryChars = 200;

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence, marking the cut.
std::string TruncateUtf8(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

std::string NewCallId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // "call_" and 16 lower-case hex digits, formatted by hand: snprintf cost more than the rest
  // of making the id.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "call_0000000000000000";
  uint64_t bits = rng();
  for (size_t i = id.size(); i > 5; --i, bits >>= 4) id[i - 1] = kHex[bits & 0xF];
  return id;
}

// "1 match" / "12 matches" from a structured field name; good enough for English plurals.
std::string CountPhrase(size_t n, const std::string& field) {
  if (n != 1) return std::to_string(n) + " " + field;
  std::string singular = field;
  auto ends_with = [&](std::string_view suffix) {
    return singular.size() > suffix.size() &&
           singular.compare(singular.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("ches") || ends_with("shes") || ends_with("sses") || ends_with("xes")) {
    singular.resize(singular.size() - 2);
  } else if (ends_with("s")) {
    singular.pop_back();
  }
  return "1 " + singular;
}

std::string ContentText(const json& content) {
  std::string text;
  if (!content.is_array()) return text;
  for (const auto& block : content) {
    if (!block.is_object() || block.value("type", "") != "text") continue;
    if (const auto body = block.find("text"); body != block.end() && body->is_string()) {
      if (!text.empty()) text += "\n";
      text += body->get_ref<const std::string&>();
    }
  }
  return text;
}

// An event's data object; built member by member because an initializer list copies each value.
json EventData(const CallContext& ctx) {
  json data(json::value_t::object);
  data.emplace("run_id", ctx.run_id);
  return data;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

std::optional<size_t> ResultCount(const ToolCallResult& result) {
  if (result.is_error || !result.structured.is_object()) return std::nullopt;
  for (const auto& [key, value] : result.structured.items()) {
    if (value.is_array()) return value.size();
  }
  return std::nullopt;
}

std::string SummarizeToolResult(const ToolCallResult& result) {
  if (!result.is_error && result.structured.is_object()) {
    for (const auto& [key, value] : result.structured.items()) {
      if (value.is_array()) return CountPhrase(value.size(), key);
    }
  }
  std::string text = ContentText(result.content);
  if (text.empty() && !result.structured.is_null()) text = result.structured.dump();
  return TruncateUtf8(std::move(text), kSummaryChars);
}

Status ToolRegistry::Register(std::shared_ptr<ToolProvider> provider) {
  if (provider == nullptr) return MakeError(ErrorCode::kInternal, "null tool provider");
  std::string server(provider->server());
  if (server.empty() || server.find('.') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a tool server name must be non-empty and contain no '.'", server);
  }
  std::unique_lock lock(mu_);
  if (providers_.count(server) != 0) {
    return MakeError(ErrorCode::kConflict, "a tool server with this name is already registered",
                     server);
  }
  providers_.emplace(std::move(server), std::move(provider));
  return Status::Ok();
}

void ToolRegistry::SetRiskPolicy(const RiskPolicy* policy, ApprovalGate* gate) {
  policy_ = policy;
  gate_ = gate;
}

bool ToolRegistry::Unregister(std::string_view server) {
  std::unique_lock lock(mu_);
  auto it = providers_.find(server);
  if (it == providers_.end()) return false;
  providers_.erase(it);
  return true;
}

std::vector<ToolInfo> ToolRegistry::ListAll() const {
  std::vector<std::shared_ptr<ToolProvider>> providers;
  {
    std::shared_lock lock(mu_);
    for (const auto& [name, provider] : providers_) providers.push_back(provider);
  }
  // Providers may do work in ListTools (an MCP client refreshing), so not under the lock.
  std::vector<ToolInfo> tools;
  for (const auto& provider : providers) {
    for (auto& info : provider->ListTools()) tools.push_back(std::move(info));
  }
  std::sort(tools.begin(), tools.end(),
            [](const ToolInfo& a, const ToolInfo& b) { return a.name < b.name; });
  // Listings (tools/list, GET /api/tools, run snapshots) show the tier the policy applies.
  if (policy_ != nullptr) {
    for (auto& t : tools) t.risk_tier = std::string(TierName(policy_->TierOf(t)));
  }
  return tools;
}

std::vector<ToolInfo> ToolRegistry::List(const CallContext& ctx) const {
  std::vector<ToolInfo> tools = ListAll();
  std::erase_if(tools, [&](const ToolInfo& t) { return !GlobMatchAny(ctx.allowed_tools, t.name); });
  return tools;
}

std::optional<ToolInfo> ToolRegistry::Find(std::string_view name) const {
  auto resolved = Resolve(name);
  if (!resolved.ok()) return std::nullopt;
  return *resolved->info;
}

Result<ToolRegistry::Resolved> ToolRegistry::Resolve(std::string_view name) const {
  const size_t dot = name.find('.');
  const std::string_view server = name.substr(0, dot == std::string_view::npos ? 0 : dot);
  std::shared_ptr<ToolProvider> provider;
  std::vector<std::string> servers;
  {
    std::shared_lock lock(mu_);
    if (auto it = providers_.find(server); !server.empty() && it != providers_.end()) {
      provider = it->second;
    } else {
      for (const auto& [n, p] : providers_) servers.push_back(n);
    }
  }
  if (provider == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "unknown tool \"" + std::string(name) +
                         "\": tool names are \"<server>.<tool>\" and the servers are " +
                         JoinNames(servers),
                     std::string(name));
  }
  if (std::shared_ptr<const ToolInfo> info = provider->FindTool(name)) return Resolved{provider, std::move(info)};
  std::vector<std::string> names;
  for (auto& info : provider->ListTools()) names.push_back(std::move(info.name));
  return MakeError(ErrorCode::kNotFound,
                   "unknown tool \"" + std::string(name) + "\": server \"" + std::string(server) +
                       "\" has " + JoinNames(names),
                   std::string(name));
}

Result<ToolCallResult> ToolRegistry::Call(std::string_view name, const json& args,
                                          const CallContext& ctx) {
  const auto started = std::chrono::steady_clock::now();
  const std::string tool(name);
  const std::string call_id = NewCallId();
  static const json kNoArguments = json::object();
  const json& arguments = args.is_null() ? kNoArguments : args;
  telemetry::ScopedSpan span = StartToolSpan(tool, call_id, arguments, ctx);
  // Events are built only for a caller that takes them (a run); each is moved to it.
  if (ctx.emit) {
    json data = EventData(ctx);
    data.emplace("call_id", call_id);
    data.emplace("tool", tool);
    data.emplace("arguments", arguments);
    ctx.emit("tool_call", std::move(data));
  }

  // Metric labels: "unknown" until the name resolves (an agent may invent any number of names).
  std::string metric_tool = "unknown";
  std::string server = "unknown";
  std::string activity;
  auto finish = [&](Result<ToolCallResult> result) -> Result<ToolCallResult> {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    FinishToolSpan(span, result, ms);
    telemetry::metrics::ToolCall(metric_tool, server, result.ok() && !result->is_error,
                                 result.ok() ? (result->is_error ? "tool_error" : "") : Describe(result.error().code).name,
                                 ms / 1e3);
    if (!ctx.emit) return result;
    const bool ok = result.ok() && !result->is_error;
    std::string summary = result.ok() ? SummarizeToolResult(*result)
                                      : TruncateUtf8(result.error().message, kSummaryChars);
    json event = EventData(ctx);
    event.emplace("call_id", call_id);
    event.emplace("tool", tool);
    event.emplace("ok", ok);
    event.emplace("duration_ms", ms);
    event.emplace("summary", summary);
    if (!result.ok()) event.emplace("error", Describe(result.error().code).name);
    if (ok) {
      if (auto count = ResultCount(*result)) event.emplace("count", *count);
    }
    ctx.emit("tool_result", std::move(event));
    std::string text = activity.empty() ? "calling " + tool : activity;
    text += "… ";
    if (!ok) text += "failed: ";
    text += summary;
    json status = EventData(ctx);
    status.emplace("text", std::move(text));
    ctx.emit("status", std::move(status));
    return result;
  };

  auto resolved = Resolve(name);
  if (!resolved.ok()) return finish(resolved.error());
  const ToolInfo& info = *resolved->info;
  activity = info.activity;
  server = std::string(resolved->provider->server());
  metric_tool = tool;
  span.Set("risk.level", info.risk_tier);
  if (!GlobMatchAny(ctx.allowed_tools, tool)) {
    return finish(MakeError(ErrorCode::kPermissionDenied,
                            "tool \"" + tool + "\" is not allowed for this agent (allowed: " +
                                JoinNames(ctx.allowed_tools) + ")",
                            tool));
  }
  if (Status valid = ValidateAgainstSchema(info.input_schema, arguments); !valid.ok()) {
    return finish(MakeError(ErrorCode::kInvalidArgument, valid.error().message, tool));
  }
  // After validation, so only calls that could run are put to the owner.
  if (policy_ != nullptr) {
    const Assessment assessment = policy_->Assess(info, arguments, ctx.risk_threshold);
    span.Set("risk.level", TierName(assessment.tier)).Set("risk.needs_approval", assessment.needs_approval);
    if (assessment.needs_approval) {
      if (gate_ == nullptr) {
        return finish(MakeError(ErrorCode::kPermissionDenied,
                                "tool \"" + tool + "\" needs approval (" + assessment.reason +
                                    ") and no approval gate is running",
                                tool));
      }
      telemetry::ScopedSpan approval = telemetry::StartSpan("approval " + tool, span.context());
      auto outcome = gate_->Await(tool, arguments, assessment, ctx);
      approval.Set("approval.approved", outcome.ok() && outcome->approved()).End();
      if (!outcome.ok()) return finish(outcome.error());
      if (!outcome->approved()) return finish(NotApprovedResult(tool, *outcome, gate_->options().timeout));
    } else {
      spdlog::info("tool call {} ({} risk: {}) for run {}", tool, TierName(assessment.tier), assessment.reason,
                   ctx.run_id.empty() ? "-" : ctx.run_id);
    }
  }
  const std::string_view unqualified = std::string_view(tool).substr(resolved->provider->server().size() + 1);
  try {
    const auto active = span.Activate();  // the provider's own spans (memory queries) nest under the call
    return finish(resolved->provider->Call(unqualified, arguments, ctx));
  } catch (const std::exception& e) {
    // Providers report failures as values; an exception here is a bug, not a user error.
    return finish(MakeError(ErrorCode::kInternal,
                            std::string("tool failed unexpectedly: ") + e.what(), tool));
  }
}

}  // namespace steward::tools
