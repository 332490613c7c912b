#pragma once
// The `tools:` section of steward.yaml: settings of the built-in web and email tool servers
// (tools/builtin/builtin_config.hpp). Split from config.cpp to keep that file about the core.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `tools: {web: {...}, email: {...}}` into config.tools. Relative corpus and hn_fixture
// paths start at the config file's directory and must exist; email.from is required (and must
// be a mailbox) once email.smtp_url is set.
[[nodiscard]] Status ParseToolsSection(const Field& f, Config& config);

}  // namespace steward::app::detail
