#include "app/detail/policy_config.hpp"

#include <cmath>

namespace steward::app::detail {

namespace {

namespace fs = std::filesystem;

Status ParseTiers(const Field& f, tools::RiskPolicyConfig& policy) {
  static const Keys kTiers = {"low", "medium", "high"};
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  for (const Mapping::Entry& e : m->entries()) {
    const bool usable = !e.key.empty() && e.key.find_first_of(" \t\r\n") == std::string::npos;
    if (!usable) {
      Field at = e.value;
      at.mark = e.key_mark;
      return at.Fail("expected a tool name or glob such as email.send or web.*, got " + Quote(e.key));
    }
    std::string tier;
    if (!e.value.present()) return e.value.Fail("expected low, medium or high");
    STEWARD_RETURN_IF_ERROR(GetChoice(e.value, kTiers, "risk tier", tier));
    policy.tiers.emplace_back(e.key, *tools::ParseTier(tier));
  }
  return Status::Ok();
}

}  // namespace

Status ParsePolicySection(const Field& f, Config& config) {
  static const Keys kKeys = {"tiers", "approval_timeout_s", "scratch_dir", "owner_addresses"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  tools::RiskPolicyConfig& policy = config.policy;
  STEWARD_RETURN_IF_ERROR(ParseTiers(m->Get("tiers"), policy));
  double seconds = std::chrono::duration<double>(policy.approval_timeout).count();
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("approval_timeout_s"), 0.1, 86'400,
                                    "a number of seconds between 0.1 and 86400", seconds));
  policy.approval_timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
  const Field owners = m->Get("owner_addresses");
  STEWARD_RETURN_IF_ERROR(GetStringList(owners, policy.owner_addresses));
  for (const std::string& address : policy.owner_addresses) {
    if (address.find('@') == std::string::npos || address.find_first_of(" \t<>,") != std::string::npos) {
      return owners.Fail("expected email addresses or globs such as me@example.com or *@me.example, got " +
                         Quote(address));
    }
  }
  const Field scratch = m->Get("scratch_dir");
  std::string dir;
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(scratch, dir, &shown));
  if (scratch.present()) {
    if (dir.empty()) return scratch.Fail("expected a directory path (leave it out for $STEWARD_HOME/scratch)");
    fs::path path(dir);
    if (path.is_relative()) path = scratch.ctx->base_dir / path;
    policy.scratch_dir = path.lexically_normal();
  }
  return Status::Ok();
}

}  // namespace steward::app::detail
