#include "gateway/auth.hpp"

namespace steward::gateway {

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<Principal> Authenticator::Authenticate(const Request& request) const {
  const auto header = request.find(http::field::authorization);
  if (header == request.end()) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "missing Authorization header: send \"Authorization: Bearer <token>\" with the token from "
                     "$STEWARD_HOME/token",
                     "Authorization");
  }
  std::string_view value = header->value();
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
    return MakeError(ErrorCode::kUnauthenticated, "expected \"Bearer <token>\"", "Authorization");
  }
  const std::string_view token = value.substr(kBearer.size());
  if (SecretEquals(token, owner_token_)) return Principal{Principal::Kind::kOwner, nullptr};
  if (auto run = runs_.FindByToken(token)) return Principal{Principal::Kind::kRun, std::move(run)};
  return MakeError(ErrorCode::kUnauthenticated, "invalid or expired token", "Authorization");
}

}  // namespace steward::gateway
