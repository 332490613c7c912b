#pragma once
// The tool hub's registry: every provider's tools under one namespace, filtered per agent, with
// arguments checked and every call reported as run events.
//
// Not here yet: the risk policy and approval gate. They belong in Call, between the
// allowed-tools check and argument validation, once tools/policy exists.

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/tool.hpp"

namespace steward::tools {

// Thread-safe: any method may be called from any thread; provider calls run without the lock.
class ToolRegistry final {
 public:
  ToolRegistry() = default;
  ToolRegistry(const ToolRegistry&) = delete;
  ToolRegistry& operator=(const ToolRegistry&) = delete;

  // Adds `provider` under its server name; kConflict if that name is taken, kInvalidArgument if
  // it is empty or contains '.'.
  [[nodiscard]] Status Register(std::shared_ptr<ToolProvider> provider);

  // Removes the provider for `server`; false if there was none. Calls already running finish.
  bool Unregister(std::string_view server);

  // The tools `ctx` may call (its allowed_tools globs), sorted by name.
  [[nodiscard]] std::vector<ToolInfo> List(const CallContext& ctx) const;

  // Every registered tool, sorted by name, regardless of who asks.
  [[nodiscard]] std::vector<ToolInfo> ListAll() const;

  // The tool named `name` ("memory.search"), if registered.
  [[nodiscard]] std::optional<ToolInfo> Find(std::string_view name) const;

  // Calls the tool `name` ("memory.search") with `args` (null means {}). Errors: kNotFound for
  // an unknown tool, kPermissionDenied when ctx's allowed_tools exclude it, kInvalidArgument when
  // args break the tool's input_schema, or whatever the provider returned. Emits tool_call before
  // and tool_result + status after, also for calls that fail.
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view name, const nlohmann::json& args,
                                            const CallContext& ctx);

 private:
  struct Resolved {
    std::shared_ptr<ToolProvider> provider;
    ToolInfo info;
  };
  [[nodiscard]] Result<Resolved> Resolve(std::string_view name) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<ToolProvider>, std::less<>> providers_;  // guarded by mu_
};

// A short human summary of a tool's outcome for events: "12 results", or the first 200
// characters of its text.
[[nodiscard]] std::string SummarizeToolResult(const ToolCallResult& result);

// How many items a successful result returned (the first array in its structured content), for
// the `count` of tool_result events and the run's sources_found.
[[nodiscard]] std::optional<size_t> ResultCount(const ToolCallResult& result);

}  // namespace steward::tools
