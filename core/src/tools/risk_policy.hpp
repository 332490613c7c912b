#pragma once
// The hub's risk policy: how risky a tool call is (low, medium, high) and whether it needs the
// owner's approval before it runs. Tiers come from `policy.tiers` globs in steward.yaml first,
// then from the built-in rules below; file writes are judged per call by where they write.
//
// Built-in rules (tool names are matched lowercased, camelCase split with '_'):
//   high   sending    *.send*  *_send*  *post_message*  *publish*  *.reply*  *.forward*
//          deleting   *delete*  *remove*  *.rm  *_rm  *destroy*  *purge*  *erase*  *unlink*
//          spending   *purchase*  *buy*  *payment*  *.pay  *.pay_*  *_pay  *checkout*
//                     *place_order*  *.order  *.order_*  *.book  *.book_*  *booking*  *reserve*  *spend*
//          shell      *shell*  *exec*  *run_command*  *terminal*  *subprocess*
//          file writes (fs|files|filesystem).{write,edit,move,create,copy,rename,mkdir,append}*
//                     unless every path argument is inside the scratch folder (then low)
//   medium web access web.*  *fetch*  *browse*  *http*  *download*  *scrape*  *crawl*
//          ...except a send to the owner's own addresses only (policy.owner_addresses): low
//   low    drafting: *.draft*
//          read-only and memory: memory.*, and names starting with a lookup verb (read, list,
//          search, get, find, query, view, stat, describe, info, tree, show, lookup, count,
//          recall, check, peek, head)
// A tool no rule knows gets medium from DefaultTier (its effect is unknown); a provider that
// knows its tools (the built-ins) declares their tier itself, and a declaration can raise a
// tier but never lower one a rule gives. High always needs approval; medium needs it unless
// the agent's risk_threshold is medium or high; low runs (and is logged).

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/tool.hpp"

namespace steward::tools {

enum class Tier { kLow = 0, kMedium = 1, kHigh = 2 };

// "low" | "medium" | "high".
[[nodiscard]] std::string_view TierName(Tier tier);
// The tier named `name`, or nullopt for anything else.
[[nodiscard]] std::optional<Tier> ParseTier(std::string_view name);

// The `policy:` section of steward.yaml.
struct RiskPolicyConfig {
  // `tiers:` globs over namespaced tool names, in file order. When several match a tool, the
  // most specific (most non-wildcard characters) wins; on a tie, the first.
  std::vector<std::pair<std::string, Tier>> tiers;
  // How long a call waits for a decision before it is denied and escalated.
  std::chrono::milliseconds approval_timeout{std::chrono::minutes(5)};
  // Writes inside this folder are low risk. Empty: the server uses $STEWARD_HOME/scratch.
  std::filesystem::path scratch_dir;
  // The owner's own addresses (globs, matched case-insensitively: "me@example.com",
  // "*@me.example"): a sending tool (a name ending in ".send", such as email.send) whose every
  // recipient (to, cc, bcc; "Name <addr>" or bare) matches one is low risk, so a digest mailed
  // to the owner needs no approval. An explicit `tiers` entry for the tool still wins.
  std::vector<std::string> owner_addresses;
};

// The tier the built-in rules give `tool_name` ("email.send" -> "high", "hn.top_stories" ->
// "medium", "fs.read_text_file" -> "low"), without call arguments (so file writes are "high").
// For ToolInfo::risk_tier when a tool is registered by a provider that does not know better
// (an MCP server); thread-safe.
[[nodiscard]] std::string DefaultTier(std::string_view tool_name);

// Same, also raised by MCP tool `annotations` a server sent: an explicit destructiveHint true
// (without readOnlyHint true) makes it high, an explicit openWorldHint true at least medium.
// Annotations never lower a tier: they come from the server being judged.
[[nodiscard]] std::string DefaultTier(std::string_view tool_name, const nlohmann::json& annotations);

// The verdict on one call.
struct Assessment {
  Tier tier = Tier::kLow;
  bool needs_approval = false;
  std::string reason;  // for the approval request and logs: "sending (built-in rule *.send*)"
};

// True iff a call of `tier` needs approval for an agent whose risk_threshold is `threshold`
// ("low" | "medium" | "high"; anything else counts as "low").
[[nodiscard]] bool NeedsApproval(Tier tier, std::string_view threshold);

// True iff `path` (absolute) names `dir` or something under it once `..` and symlinks are
// resolved, whether the path is read lexically (as Node's path.resolve does) or by the kernel.
// Relative paths are never inside: what they resolve against is not known here.
[[nodiscard]] bool PathInside(const std::filesystem::path& path, const std::filesystem::path& dir);

// Immutable after construction (but for a memo of per-name facts behind its own lock), so any
// thread may call it.
class RiskPolicy final {
 public:
  explicit RiskPolicy(RiskPolicyConfig config);

  // The tier of `tool` before any call (for listings and registry snapshots): a configured
  // glob, else the higher of the tool's declared risk_tier and DefaultTier(name).
  [[nodiscard]] Tier TierOf(const ToolInfo& tool) const;

  // The verdict on calling `tool` with `args` (already validated) for an agent with
  // `agent_threshold`. File writes are checked against the scratch folder per call.
  [[nodiscard]] Assessment Assess(const ToolInfo& tool, const nlohmann::json& args,
                                  std::string_view agent_threshold) const;

  [[nodiscard]] const RiskPolicyConfig& config() const { return config_; }

 private:
  struct Rule {
    std::string pattern;
    Tier tier;
  };
  // What the built-in rules say about a tool name, whatever the arguments.
  struct NameFacts {
    int default_rule = -1;  // index of the first matching built-in rule, -1 for none
    bool file_write = false;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The configured tier for `name`, with the glob that gave it.
  [[nodiscard]] std::optional<Rule> Configured(std::string_view name) const;
  [[nodiscard]] Assessment Judge(const ToolInfo& tool, const nlohmann::json* args) const;
  // NameFacts of `name`, memoised: matching the ~50 built-in globs took most of a call's policy
  // check (bench/tools). A pure function of the name, so the memo never changes a verdict.
  [[nodiscard]] NameFacts FactsOf(std::string_view name) const;

  RiskPolicyConfig config_;
  mutable std::shared_mutex memo_mu_;
  // Bounded (kMaxMemoNames); names come from registered tools. GUARDED_BY(memo_mu_)
  mutable std::unordered_map<std::string, NameFacts, NameHash, std::equal_to<>> memo_;
};

}  // namespace steward::tools
