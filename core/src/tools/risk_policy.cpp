#include "tools/risk_policy.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <system_error>

#include "tools/glob.hpp"

namespace steward::tools {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DefaultRule {
  std::string_view pattern;
  Tier tier;
  std::string_view category;
};

// In priority order: the first match wins, so every high rule is tried before a medium one.
constexpr DefaultRule kDefaultRules[] = {
    {"*.send*", Tier::kHigh, "sending"},           {"*_send*", Tier::kHigh, "sending"},
    {"*post_message*", Tier::kHigh, "sending"},    {"*publish*", Tier::kHigh, "sending"},
    {"*.reply*", Tier::kHigh, "sending"},          {"*.forward*", Tier::kHigh, "sending"},
    {"*delete*", Tier::kHigh, "deleting"},         {"*remove*", Tier::kHigh, "deleting"},
    {"*.rm", Tier::kHigh, "deleting"},             {"*_rm", Tier::kHigh, "deleting"},
    {"*destroy*", Tier::kHigh, "deleting"},        {"*purge*", Tier::kHigh, "deleting"},
    {"*erase*", Tier::kHigh, "deleting"},          {"*unlink*", Tier::kHigh, "deleting"},
    {"*purchase*", Tier::kHigh, "spending"},       {"*buy*", Tier::kHigh, "spending"},
    {"*payment*", Tier::kHigh, "spending"},        {"*.pay", Tier::kHigh, "spending"},
    {"*.pay_*", Tier::kHigh, "spending"},          {"*_pay", Tier::kHigh, "spending"},
    {"*checkout*", Tier::kHigh, "spending"},       {"*place_order*", Tier::kHigh, "spending"},
    {"*.order", Tier::kHigh, "spending"},          {"*.order_*", Tier::kHigh, "spending"},
    {"*.book", Tier::kHigh, "spending"},           {"*.book_*", Tier::kHigh, "spending"},
    {"*booking*", Tier::kHigh, "spending"},        {"*reserve*", Tier::kHigh, "spending"},
    {"*spend*", Tier::kHigh, "spending"},          {"*shell*", Tier::kHigh, "shell"},
    {"*exec*", Tier::kHigh, "shell"},              {"*run_command*", Tier::kHigh, "shell"},
    {"*terminal*", Tier::kHigh, "shell"},          {"*subprocess*", Tier::kHigh, "shell"},
    {"web.*", Tier::kMedium, "web access"},        {"*fetch*", Tier::kMedium, "web access"},
    {"*browse*", Tier::kMedium, "web access"},     {"*http*", Tier::kMedium, "web access"},
    {"*download*", Tier::kMedium, "web access"},   {"*scrape*", Tier::kMedium, "web access"},
    {"*crawl*", Tier::kMedium, "web access"},
    {"*.draft*", Tier::kLow, "drafting (nothing leaves Steward)"},
};

// A tool whose name starts with one of these only looks things up.
constexpr std::string_view kLookupVerbs[] = {"read", "list",  "search",   "get",  "find", "query",
                                             "view", "stat",  "describe", "info", "tree", "show",
                                             "lookup", "count", "recall", "check", "peek", "head"};

constexpr std::string_view kFileServers[] = {"fs", "files", "filesystem"};
constexpr std::string_view kWriteVerbs[] = {"write", "edit",   "move",  "create",
                                            "copy",  "rename", "mkdir", "append"};

// Argument names (lowercase, without '_' and '-') that hold paths.
constexpr std::string_view kPathKeys[] = {
    "path", "paths", "file",   "files", "filepath", "filepaths", "filename", "source",
    "sources", "destination", "dest", "target", "src", "dst", "from", "to",
    "dir", "directory", "newpath", "oldpath", "output"};
constexpr std::string_view kPathSuffixes[] = {"path", "paths", "dir", "directory", "file"};

// "gmail.sendMessage" -> "gmail.send_message": rules are written in snake_case.
std::string Normalize(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]))) out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

const DefaultRule* MatchDefault(std::string_view tool_name) {
  const std::string name = Normalize(tool_name);
  for (const auto& rule : kDefaultRules) {
    if (GlobMatch(rule.pattern, name)) return &rule;
  }
  return nullptr;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool IsFileWrite(std::string_view tool_name) {
  const std::string name = Normalize(tool_name);
  const size_t dot = name.find('.');
  if (dot == std::string::npos) return false;
  const std::string_view server = std::string_view(name).substr(0, dot);
  const std::string_view tool = std::string_view(name).substr(dot + 1);
  if (std::find(std::begin(kFileServers), std::end(kFileServers), server) == std::end(kFileServers)) {
    return false;
  }
  return std::any_of(std::begin(kWriteVerbs), std::end(kWriteVerbs),
                     [&](std::string_view verb) { return StartsWith(tool, verb); });
}

bool IsPathKey(std::string_view key) {
  std::string k;
  for (char c : key) {
    if (c != '_' && c != '-') k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (std::find(std::begin(kPathKeys), std::end(kPathKeys), k) != std::end(kPathKeys)) return true;
  return std::any_of(std::begin(kPathSuffixes), std::end(kPathSuffixes), [&](std::string_view s) {
    return k.size() > s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0;
  });
}

// The path arguments of a call, or nullopt when one of them is not a string (a shape that
// cannot be checked is treated as a write outside).
std::optional<std::vector<std::string>> PathArguments(const json& args) {
  std::vector<std::string> paths;
  if (!args.is_object()) return paths;
  for (const auto& [key, value] : args.items()) {
    if (!IsPathKey(key) || value.is_null()) continue;
    if (value.is_string()) {
      paths.push_back(value.get<std::string>());
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (!item.is_string()) return std::nullopt;
        paths.push_back(item.get<std::string>());
      }
    } else {
      return std::nullopt;
    }
  }
  return paths;
}

// The recipients of a sending call (to, cc, bcc: a string or an array of strings), each reduced
// to its bare lowercase address ("Me <ME@x.org>" -> "me@x.org"); nullopt when one is not a string.
std::optional<std::vector<std::string>> RecipientArguments(const json& args) {
  std::vector<std::string> out;
  if (!args.is_object()) return out;
  auto add = [&out](const json& value) {
    if (!value.is_string()) return false;
    std::string address = value.get<std::string>();
    if (const size_t open = address.rfind('<'); open != std::string::npos) {
      const size_t close = address.find('>', open);
      address = address.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
    }
    const size_t begin = address.find_first_not_of(" \t");
    const size_t end = address.find_last_not_of(" \t");
    address = begin == std::string::npos ? std::string() : address.substr(begin, end - begin + 1);
    std::transform(address.begin(), address.end(), address.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(std::move(address));
    return true;
  };
  for (const char* key : {"to", "cc", "bcc"}) {
    const auto it = args.find(key);
    if (it == args.end() || it->is_null()) continue;
    if (it->is_array()) {
      for (const auto& item : *it) {
        if (!add(item)) return std::nullopt;
      }
    } else if (!add(*it)) {
      return std::nullopt;
    }
  }
  return out;
}

bool IsSend(std::string_view name) { return name.size() > 5 && name.substr(name.size() - 5) == ".send"; }

// `path` resolved as far as it exists (symlinks and `..` of the existing prefix by the
// kernel, the rest lexically), or empty on error.
fs::path Resolve(const fs::path& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(path, ec);
  if (ec) return {};
  resolved = resolved.lexically_normal();
  // "/a/b/" has an empty last element that would count as one more level.
  if (!resolved.has_filename() && resolved != resolved.root_path()) resolved = resolved.parent_path();
  return resolved;
}

bool Under(const fs::path& resolved, const fs::path& dir) {
  if (resolved.empty() || dir.empty()) return false;
  const fs::path rel = resolved.lexically_relative(dir);
  if (rel.empty()) return false;
  const std::string first = rel.begin()->string();
  return first != "..";
}

size_t Specificity(std::string_view pattern) {
  return static_cast<size_t>(
      std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*' && c != '?'; }));
}

std::string Quoted(std::string_view s) { return json(std::string(s)).dump(); }

}  // namespace

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kLow: return "low";
    case Tier::kMedium: return "medium";
    case Tier::kHigh: return "high";
  }
  return "high";
}

std::optional<Tier> ParseTier(std::string_view name) {
  if (name == "low") return Tier::kLow;
  if (name == "medium") return Tier::kMedium;
  if (name == "high") return Tier::kHigh;
  return std::nullopt;
}

std::string DefaultTier(std::string_view tool_name) {
  if (IsFileWrite(tool_name)) return "high";
  if (const DefaultRule* rule = MatchDefault(tool_name)) return std::string(TierName(rule->tier));
  // No rule knows it: low only when it is memory or reads as a lookup, else medium, so an
  // unknown effect is asked about under the default threshold without being treated as a send.
  const std::string name = Normalize(tool_name);
  const size_t dot = name.find('.');
  const std::string_view server = std::string_view(name).substr(0, dot == std::string::npos ? 0 : dot);
  std::string_view tool = dot == std::string::npos ? std::string_view(name) : std::string_view(name).substr(dot + 1);
  tool = tool.substr(0, tool.find_first_of("_-."));
  const bool lookup = std::find(std::begin(kLookupVerbs), std::end(kLookupVerbs), tool) != std::end(kLookupVerbs);
  return server == "memory" || lookup ? "low" : "medium";
}

std::string DefaultTier(std::string_view tool_name, const json& annotations) {
  Tier tier = *ParseTier(DefaultTier(tool_name));
  if (annotations.is_object()) {
    auto flag = [&](const char* key) {
      auto it = annotations.find(key);
      return it != annotations.end() && it->is_boolean() ? std::optional<bool>(it->get<bool>()) : std::nullopt;
    };
    if (flag("destructiveHint") == true && flag("readOnlyHint") != true) tier = Tier::kHigh;
    if (flag("openWorldHint") == true) tier = std::max(tier, Tier::kMedium);
  }
  return std::string(TierName(tier));
}

bool NeedsApproval(Tier tier, std::string_view threshold) {
  if (tier == Tier::kHigh) return true;
  const Tier allowed = ParseTier(threshold).value_or(Tier::kLow);
  return tier > allowed;
}

bool PathInside(const fs::path& path, const fs::path& dir) {
  if (!path.is_absolute() || dir.empty()) return false;
  const fs::path root = Resolve(dir.lexically_normal());
  // Both readings must stay inside: the kernel's ("a/missing/../b" fails at "missing") and
  // a lexical one that drops "x/.." first, as Node's fs servers do before touching the disk.
  return Under(Resolve(path), root) && Under(Resolve(path.lexically_normal()), root);
}

RiskPolicy::RiskPolicy(RiskPolicyConfig config) : config_(std::move(config)) {}

RiskPolicy::NameFacts RiskPolicy::FactsOf(std::string_view name) const {
  constexpr size_t kMaxMemoNames = 4096;
  {
    std::shared_lock lock(memo_mu_);
    if (auto it = memo_.find(name); it != memo_.end()) return it->second;
  }
  NameFacts facts;
  if (const DefaultRule* rule = MatchDefault(name)) facts.default_rule = static_cast<int>(rule - kDefaultRules);
  facts.file_write = IsFileWrite(name);
  std::unique_lock lock(memo_mu_);
  if (memo_.size() < kMaxMemoNames) memo_.emplace(std::string(name), facts);
  return facts;
}

std::optional<RiskPolicy::Rule> RiskPolicy::Configured(std::string_view name) const {
  std::optional<Rule> best;
  for (const auto& [pattern, tier] : config_.tiers) {
    if (!GlobMatch(pattern, name)) continue;
    if (!best || Specificity(pattern) > Specificity(best->pattern)) best = Rule{pattern, tier};
  }
  return best;
}

Tier RiskPolicy::TierOf(const ToolInfo& tool) const { return Judge(tool, nullptr).tier; }

Assessment RiskPolicy::Assess(const ToolInfo& tool, const json& args, std::string_view agent_threshold) const {
  Assessment a = Judge(tool, &args);
  a.needs_approval = NeedsApproval(a.tier, agent_threshold);
  return a;
}

Assessment RiskPolicy::Judge(const ToolInfo& tool, const json* args) const {
  Assessment a;
  if (auto rule = Configured(tool.name)) {
    a.tier = rule->tier;
    a.reason = "policy.tiers " + Quoted(rule->pattern) + " is " + std::string(TierName(rule->tier));
    return a;
  }
  if (args != nullptr && !config_.owner_addresses.empty() && IsSend(tool.name)) {
    const auto recipients = RecipientArguments(*args);
    const auto is_owner = [&](const std::string& address) {
      return std::any_of(config_.owner_addresses.begin(), config_.owner_addresses.end(), [&](std::string glob) {
        std::transform(glob.begin(), glob.end(), glob.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return GlobMatch(glob, address);
      });
    };
    if (recipients && !recipients->empty() && std::all_of(recipients->begin(), recipients->end(), is_owner)) {
      a.tier = Tier::kLow;
      a.reason = "sends only to the owner's own address (policy.owner_addresses)";
      return a;
    }
  }
  const NameFacts facts = FactsOf(tool.name);
  if (facts.file_write) {
    a.tier = Tier::kHigh;
    const std::string scratch = config_.scratch_dir.string();
    if (args == nullptr) {
      a.reason = "writes files (low only when every path is inside the scratch folder " + scratch + ")";
      return a;
    }
    const auto paths = PathArguments(*args);
    if (!paths) {
      a.reason = "writes files, and a path argument is not a string, so it cannot be checked";
    } else if (paths->empty()) {
      a.reason = "writes files, and no path argument names where";
    } else if (config_.scratch_dir.empty()) {
      a.reason = "writes files, and no scratch folder is configured";
    } else {
      auto outside = std::find_if(paths->begin(), paths->end(),
                                  [&](const std::string& p) { return !PathInside(p, config_.scratch_dir); });
      if (outside == paths->end()) {
        a.tier = Tier::kLow;
        a.reason = "writes only inside the scratch folder " + scratch;
      } else {
        a.reason = "writes outside the scratch folder " + scratch + ": " + Quoted(*outside);
      }
    }
    return a;
  }
  const DefaultRule* rule = facts.default_rule < 0 ? nullptr : &kDefaultRules[facts.default_rule];
  const Tier by_name = rule == nullptr ? Tier::kLow : rule->tier;
  const Tier declared = ParseTier(tool.risk_tier).value_or(Tier::kHigh);  // unknown words: be safe
  if (declared > by_name) {
    a.tier = declared;
    a.reason = "declared " + std::string(TierName(declared)) + " risk by its server";
  } else if (rule != nullptr) {
    a.tier = by_name;
    a.reason = std::string(rule->category) + " (built-in rule " + std::string(rule->pattern) + ")";
  } else {
    a.tier = Tier::kLow;
    a.reason = "read-only or memory (no built-in rule matches)";
  }
  return a;
}

}  // namespace steward::tools
