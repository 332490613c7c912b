#include "tools/builtin/address_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace steward::tools::builtin {

namespace {

struct Range {
  int family;
  std::array<uint8_t, 16> prefix;
  int bits;
  std::string_view name;
};

constexpr std::array<uint8_t, 16> V4(uint8_t a, uint8_t b = 0, uint8_t c = 0, uint8_t d = 0) {
  return {a, b, c, d};
}

// RFC 6890 special-purpose registries, minus the globally reachable entries.
constexpr Range kV4Ranges[] = {
    {4, V4(0), 8, "\"this network\" (0.0.0.0/8)"},
    {4, V4(10), 8, "private (10.0.0.0/8)"},
    {4, V4(100, 64), 10, "carrier-grade NAT (100.64.0.0/10)"},
    {4, V4(127), 8, "loopback (127.0.0.0/8)"},
    {4, V4(169, 254), 16, "link-local (169.254.0.0/16, where cloud metadata services live)"},
    {4, V4(172, 16), 12, "private (172.16.0.0/12)"},
    {4, V4(192, 0, 0), 24, "IETF protocol assignments (192.0.0.0/24)"},
    {4, V4(192, 0, 2), 24, "documentation (192.0.2.0/24)"},
    {4, V4(192, 88, 99), 24, "6to4 relay anycast (192.88.99.0/24)"},
    {4, V4(192, 168), 16, "private (192.168.0.0/16)"},
    {4, V4(198, 18), 15, "benchmarking (198.18.0.0/15)"},
    {4, V4(198, 51, 100), 24, "documentation (198.51.100.0/24)"},
    {4, V4(203, 0, 113), 24, "documentation (203.0.113.0/24)"},
    {4, V4(224), 4, "multicast (224.0.0.0/4)"},
    {4, V4(240), 4, "reserved (240.0.0.0/4)"},
};

constexpr std::array<uint8_t, 16> V6(std::initializer_list<uint16_t> groups) {
  std::array<uint8_t, 16> out{};
  size_t i = 0;
  for (uint16_t g : groups) {
    out[i++] = static_cast<uint8_t>(g >> 8);
    out[i++] = static_cast<uint8_t>(g & 0xff);
  }
  return out;
}

// Checked in order: the first match names the range.
const Range kV6Ranges[] = {
    {6, V6({0, 0, 0, 0, 0, 0, 0, 0}), 128, "unspecified (::)"},
    {6, V6({0, 0, 0, 0, 0, 0, 0, 1}), 128, "loopback (::1)"},
    {6, V6({0, 0, 0, 0, 0, 0xffff}), 96, "IPv4-mapped (::ffff:0:0/96)"},
    {6, V6({0, 0, 0, 0, 0, 0}), 96, "IPv4-compatible (::/96)"},
    {6, V6({0x64, 0xff9b, 1}), 48, "local-use NAT64 (64:ff9b:1::/48)"},
    {6, V6({0x100}), 64, "discard-only (100::/64)"},
    {6, V6({0x2001, 0xdb8}), 32, "documentation (2001:db8::/32)"},
    {6, V6({0x2001}), 23, "IETF protocol assignments incl. Teredo (2001::/23)"},
    {6, V6({0xfc00}), 7, "unique-local (fc00::/7)"},
    {6, V6({0xfe80}), 10, "link-local (fe80::/10)"},
    {6, V6({0xfec0}), 10, "site-local (fec0::/10)"},
    {6, V6({0xff00}), 8, "multicast (ff00::/8)"},
};

bool InPrefix(const IpAddress& addr, const Range& range) {
  if (addr.family != range.family) return false;
  int bits = range.bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((addr.bytes[i] & mask) != (range.prefix[i] & mask)) return false;
  }
  return true;
}

IpAddress V4At(const IpAddress& v6, size_t offset) {
  IpAddress v4;
  v4.family = 4;
  std::copy_n(v6.bytes.begin() + static_cast<std::ptrdiff_t>(offset), 4, v4.bytes.begin());
  return v4;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

struct SplitEntry {
  std::string host;
  int port = -1;
  bool ok = false;
};

SplitEntry Split(std::string_view entry) {
  SplitEntry out;
  std::string_view host = entry;
  std::string_view port;
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) return out;
    host = entry.substr(1, close - 1);
    const std::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return out;
      port = rest.substr(1);
      if (port.empty()) return out;
    }
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    const size_t colon = entry.find(':');
    host = entry.substr(0, colon);
    port = entry.substr(colon + 1);
    if (port.empty()) return out;
  }
  if (host.empty() || host.find_first_of(" /?#@") != std::string_view::npos) return out;
  if (!port.empty()) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) return out;
    out.port = p;
  }
  out.host = Lower(host);
  out.ok = true;
  return out;
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  const std::string s(StripBrackets(text));
  IpAddress addr;
  if (inet_pton(AF_INET, s.c_str(), addr.bytes.data()) == 1) {
    addr.family = 4;
    return addr;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr.bytes.data()) == 1) {
    addr.family = 6;
    return addr;
  }
  return std::nullopt;
}

std::optional<IpAddress> FromSockaddr(const struct sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  IpAddress addr;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    addr.family = 4;
    std::memcpy(addr.bytes.data(), &in.sin_addr, 4);
    return addr;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    addr.family = 6;
    std::memcpy(addr.bytes.data(), &in6.sin6_addr, 16);
    return addr;
  }
  return std::nullopt;
}

std::string ToString(const IpAddress& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(addr.family == 4 ? AF_INET : AF_INET6, addr.bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<std::string> BlockedRange(const IpAddress& addr) {
  if (addr.family == 4) {
    for (const auto& r : kV4Ranges) {
      if (InPrefix(addr, r)) return std::string(r.name);
    }
    return std::nullopt;
  }
  for (const auto& r : kV6Ranges) {
    if (InPrefix(addr, r)) return std::string(r.name);
  }
  // Translation prefixes reach the IPv4 address they embed: as blocked as that address.
  static const Range kNat64{6, V6({0x64, 0xff9b}), 96, "NAT64"};
  static const Range k6to4{6, V6({0x2002}), 16, "6to4"};
  if (InPrefix(addr, kNat64)) {
    if (auto inner = BlockedRange(V4At(addr, 12))) return "NAT64 (64:ff9b::/96) of " + *inner;
  }
  if (InPrefix(addr, k6to4)) {
    if (auto inner = BlockedRange(V4At(addr, 2))) return "6to4 (2002::/16) of " + *inner;
  }
  return std::nullopt;
}

HostAllowlist::HostAllowlist(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    SplitEntry s = Split(e);
    if (s.ok) entries_.push_back({std::move(s.host), s.port});
  }
}

bool HostAllowlist::Allows(std::string_view host, int port) const {
  const std::string h = Lower(StripBrackets(host));
  // The same address may be spelled differently ("::1" vs "0:0::1"): compare literals as bytes.
  const auto literal = ParseIpAddress(h);
  for (const auto& e : entries_) {
    if (e.port != -1 && e.port != port) continue;
    if (literal) {
      if (auto listed = ParseIpAddress(e.host); listed && *listed == *literal) return true;
      continue;
    }
    if (e.host == h) return true;
    if (e.host.size() > 2 && e.host.compare(0, 2, "*.") == 0) {
      const std::string_view suffix = std::string_view(e.host).substr(1);  // ".example.com"
      if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return true;
      }
    }
  }
  return false;
}

std::optional<std::string> CheckHostEntry(std::string_view entry) {
  if (Split(entry).ok) return std::nullopt;
  return "expected \"host\" or \"host:port\" (IPv6 in brackets, e.g. \"[::1]:8080\"; "
         "\"*.example.internal\" for subdomains), got \"" + std::string(entry) + "\"";
}

}  // namespace steward::tools::builtin
