#pragma once
// SHA-256 (FIPS 180-4), small and dependency-free: the approval gate binds an approval to the
// hash of its call's canonical arguments, and nothing else in the core needs a crypto library.

#include <string>
#include <string_view>

namespace steward::tools::detail {

// The SHA-256 digest of `data` as 64 lowercase hex characters.
[[nodiscard]] std::string Sha256Hex(std::string_view data);

}  // namespace steward::tools::detail
