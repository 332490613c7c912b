#pragma once
// Which network addresses web.fetch may connect to. Fetching a URL on behalf of a model is a
// server-side request forgery risk: a page (or a prompt-injected model) can point it at the
// cloud metadata service, the router's admin page or Steward's own API. So every address that
// is not public unicast is refused unless the owner allowed it, and the check is made on the
// address actually connected to (see guarded_http.hpp), not on the name in the URL.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace steward::tools::builtin {

// An IPv4 or IPv6 address, bytes in network order (IPv4 uses the first 4).
struct IpAddress {
  int family = 4;  // 4 or 6
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Parses a numeric IPv4 ("10.0.0.1") or IPv6 ("::1", "[::1]") address; nullopt otherwise.
// Names are never resolved here.
[[nodiscard]] std::optional<IpAddress> ParseIpAddress(std::string_view text);

// The address of an AF_INET/AF_INET6 sockaddr; nullopt for other families.
[[nodiscard]] std::optional<IpAddress> FromSockaddr(const struct sockaddr* addr);

// "10.0.0.1", "::1".
[[nodiscard]] std::string ToString(const IpAddress& addr);

// The reserved range `addr` belongs to, as a phrase for messages ("loopback (127.0.0.0/8)"), or
// nullopt for a public unicast address. Covers this-network, private, CGNAT, loopback,
// link-local (cloud metadata at 169.254.169.254), documentation, benchmarking, multicast and
// reserved IPv4 ranges; IPv6 unspecified, loopback, IPv4-mapped/compatible, NAT64 and 6to4 of a
// blocked IPv4 address, Teredo/IETF, documentation, unique-local (fc00::/7), link-local
// (fe80::/10), site-local and multicast.
[[nodiscard]] std::optional<std::string> BlockedRange(const IpAddress& addr);

// The hosts whose non-public addresses the owner allowed (tools.web.allow_hosts). Entries are
// "host" (any port) or "host:port"; IPv6 literals in brackets ("[::1]:8080"). Host names match
// case-insensitively and exactly, except a leading "*." which matches any subdomain.
class HostAllowlist final {
 public:
  HostAllowlist() = default;
  explicit HostAllowlist(const std::vector<std::string>& entries);

  // True iff the URL host `host` (brackets optional for IPv6) on `port` is listed.
  [[nodiscard]] bool Allows(std::string_view host, int port) const;

  [[nodiscard]] bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string host;  // lowercase, no brackets
    int port = -1;     // -1: any
  };
  std::vector<Entry> entries_;
};

// Whether an entry of allow_hosts is well formed; an error message otherwise (for config checks).
[[nodiscard]] std::optional<std::string> CheckHostEntry(std::string_view entry);

}  // namespace steward::tools::builtin
