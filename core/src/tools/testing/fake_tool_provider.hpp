#pragma once
// A scriptable in-memory ToolProvider for unit tests of the registry and the MCP endpoint.

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "tools/tool.hpp"

namespace steward::tools::testing {

class FakeProvider final : public ToolProvider {
 public:
  explicit FakeProvider(std::string server) : server_(std::move(server)) {}

  // Adds a tool "<server>.<name>" taking {query: string (required)}; by default it answers with
  // structured {tool, arguments} echoing what it received.
  void AddEcho(const std::string& name, std::string activity = {}) {
    ToolInfo info;
    info.name = server_ + "." + name;
    info.server = server_;
    info.description = "Echoes its arguments (" + name + ")";
    info.input_schema = {{"type", "object"},
                         {"properties", {{"query", {{"type", "string"}}}}},
                         {"required", {"query"}}};
    info.activity = std::move(activity);
    std::lock_guard lock(mu_);
    tools_[name] = std::move(info);
  }

  // Makes `name` answer `result` instead of the echo.
  void SetResult(const std::string& name, ToolCallResult result) {
    std::lock_guard lock(mu_);
    results_[name] = std::move(result);
  }

  // Makes `name` throw, as a buggy provider would.
  void ThrowOn(const std::string& name) {
    std::lock_guard lock(mu_);
    throwing_[name] = true;
  }

  int calls() const { return calls_.load(); }

  std::string_view server() const override { return server_; }

  std::vector<ToolInfo> ListTools() const override {
    std::lock_guard lock(mu_);
    std::vector<ToolInfo> out;
    for (const auto& [name, info] : tools_) out.push_back(info);
    return out;
  }

  Result<ToolCallResult> Call(std::string_view tool, const nlohmann::json& args,
                              const CallContext& ctx) override {
    ++calls_;
    std::lock_guard lock(mu_);
    const std::string name(tool);
    if (throwing_.count(name) != 0) throw std::runtime_error("fake provider exploded");
    if (auto it = results_.find(name); it != results_.end()) return it->second;
    return ToolCallResult::Text("echo " + name,
                                {{"tool", name}, {"arguments", args}, {"run_id", ctx.run_id}});
  }

 private:
  const std::string server_;
  mutable std::mutex mu_;
  std::map<std::string, ToolInfo> tools_;
  std::map<std::string, ToolCallResult> results_;
  std::map<std::string, bool> throwing_;
  std::atomic<int> calls_{0};
};

}  // namespace steward::tools::testing
