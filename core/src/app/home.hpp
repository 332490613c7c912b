#pragma once
// The data directory ($STEWARD_HOME, default ~/.local/share/steward) and what lives in it:
// the owner token, the embedded PostgreSQL cluster, the default config file.

#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace steward::app {

// $STEWARD_HOME, else $XDG_DATA_HOME/steward, else ~/.local/share/steward.
[[nodiscard]] std::filesystem::path ResolveHome();

// Creates the directory (mode 0700) if needed.
[[nodiscard]] Status EnsureHome(const std::filesystem::path& home);

// Reads $STEWARD_HOME/token, creating it (mode 0600, 32 random bytes hex) on first start.
// A token file readable by others is refused: it grants full control of Steward.
[[nodiscard]] Result<std::string> LoadOrCreateOwnerToken(const std::filesystem::path& home);

// The token a client should send: $STEWARD_TOKEN, else the owner token file if readable.
[[nodiscard]] Result<std::string> ClientToken(const std::filesystem::path& home);

// The config file to use when none is given: $STEWARD_CONFIG, else $STEWARD_HOME/steward.yaml
// if it exists, else empty (built-in defaults).
[[nodiscard]] std::filesystem::path DefaultConfigPath(const std::filesystem::path& home);

}  // namespace steward::app
