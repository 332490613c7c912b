#pragma once
// The `policy:` section of steward.yaml (tools/risk_policy.hpp): risk tiers by tool glob, how
// long a held call waits for the owner, and the scratch folder writes may go to freely.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `policy: {tiers: {GLOB: low|medium|high, ...}, approval_timeout_s, scratch_dir}` into
// config.policy. Globs are namespaced tool names with * and ?; approval_timeout_s is 0.1 to
// 86400 seconds; a relative scratch_dir starts at the config file's directory.
[[nodiscard]] Status ParsePolicySection(const Field& f, Config& config);

}  // namespace steward::app::detail
