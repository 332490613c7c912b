#pragma once
// Who is calling: the owner (the token in $STEWARD_HOME/token) or a run (its per-run token,
// valid only while the run lives). Every endpoint but /healthz requires one of them.

#include <memory>
#include <optional>
#include <string>

#include "engine/live_run.hpp"
#include "engine/run_registry.hpp"
#include "gateway/http_server.hpp"

namespace steward::gateway {

struct Principal {
  enum class Kind { kOwner, kRun };
  Kind kind = Kind::kOwner;
  std::shared_ptr<engine::LiveRun> run;  // set for kRun
  [[nodiscard]] bool owner() const { return kind == Kind::kOwner; }
};

class Authenticator final {
 public:
  Authenticator(std::string owner_token, engine::RunRegistry& runs)
      : owner_token_(std::move(owner_token)), runs_(runs) {}

  // The caller behind the request's `Authorization: Bearer` header, or an kUnauthenticated
  // error saying what was missing or wrong.
  [[nodiscard]] Result<Principal> Authenticate(const Request& request) const;

 private:
  const std::string owner_token_;
  engine::RunRegistry& runs_;
};

// Constant-time comparison for secrets.
[[nodiscard]] bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace steward::gateway
