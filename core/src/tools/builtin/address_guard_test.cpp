#include "tools/builtin/address_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace steward::tools::builtin {
namespace {

struct Case {
  const char* address;
  const char* range;  // a word the range's name must contain; nullptr: public, allowed
};

class BlockedRangeTest : public ::testing::TestWithParam<Case> {};

TEST_P(BlockedRangeTest, ClassifiesAddress) {
  const Case& c = GetParam();
  const auto addr = ParseIpAddress(c.address);
  ASSERT_TRUE(addr.has_value()) << c.address;
  const auto range = BlockedRange(*addr);
  if (c.range == nullptr) {
    EXPECT_FALSE(range.has_value()) << c.address << " was refused as " << range.value_or("");
  } else {
    ASSERT_TRUE(range.has_value()) << c.address << " was allowed";
    EXPECT_NE(range->find(c.range), std::string::npos) << c.address << ": " << *range;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4Blocked, BlockedRangeTest,
    ::testing::Values(Case{"0.0.0.0", "this network"}, Case{"0.255.1.2", "this network"},
                      Case{"10.0.0.1", "private"}, Case{"10.255.255.255", "private"},
                      Case{"100.64.0.1", "carrier-grade"}, Case{"100.127.255.254", "carrier-grade"},
                      Case{"127.0.0.1", "loopback"}, Case{"127.0.0.2", "loopback"},
                      Case{"127.255.255.255", "loopback"}, Case{"169.254.169.254", "link-local"},
                      Case{"169.254.0.1", "link-local"}, Case{"172.16.0.1", "private"},
                      Case{"172.31.255.255", "private"}, Case{"192.0.0.8", "IETF"},
                      Case{"192.0.2.10", "documentation"}, Case{"192.88.99.1", "6to4"},
                      Case{"192.168.1.1", "private"}, Case{"198.18.0.1", "benchmarking"},
                      Case{"198.19.255.255", "benchmarking"}, Case{"198.51.100.7", "documentation"},
                      Case{"203.0.113.9", "documentation"}, Case{"224.0.0.251", "multicast"},
                      Case{"239.255.255.250", "multicast"}, Case{"240.0.0.1", "reserved"},
                      Case{"255.255.255.255", "reserved"}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6Blocked, BlockedRangeTest,
    ::testing::Values(Case{"::", "unspecified"}, Case{"::1", "loopback"}, Case{"[::1]", "loopback"},
                      Case{"::ffff:127.0.0.1", "IPv4-mapped"}, Case{"::ffff:169.254.169.254", "IPv4-mapped"},
                      Case{"::ffff:8.8.8.8", "IPv4-mapped"}, Case{"::10.0.0.1", "IPv4-compatible"},
                      Case{"64:ff9b::10.0.0.1", "NAT64"}, Case{"64:ff9b::169.254.169.254", "link-local"},
                      Case{"64:ff9b:1::1", "NAT64"}, Case{"100::1", "discard"},
                      Case{"2001:db8::1", "documentation"}, Case{"2001::1", "Teredo"},
                      Case{"2002:7f00:1::1", "6to4"}, Case{"2002:a9fe:a9fe::1", "link-local"},
                      Case{"fc00::1", "unique-local"}, Case{"fd12:3456:789a::1", "unique-local"},
                      Case{"fe80::1", "link-local"}, Case{"febf:ffff::1", "link-local"},
                      Case{"fec0::1", "site-local"}, Case{"ff02::1", "multicast"},
                      Case{"ff05::1:3", "multicast"}));

INSTANTIATE_TEST_SUITE_P(
    PublicAllowed, BlockedRangeTest,
    ::testing::Values(Case{"8.8.8.8", nullptr}, Case{"1.1.1.1", nullptr}, Case{"93.184.215.14", nullptr},
                      Case{"100.63.255.255", nullptr}, Case{"100.128.0.0", nullptr},
                      Case{"172.15.255.255", nullptr}, Case{"172.32.0.0", nullptr},
                      Case{"169.253.255.255", nullptr}, Case{"192.169.0.1", nullptr},
                      Case{"11.0.0.1", nullptr}, Case{"126.255.255.255", nullptr},
                      Case{"128.0.0.1", nullptr}, Case{"223.255.255.255", nullptr},
                      Case{"2606:4700:4700::1111", nullptr}, Case{"2001:4860:4860::8888", nullptr},
                      Case{"2a00:1450:4001:80b::200e", nullptr}, Case{"64:ff9b::8.8.8.8", nullptr},
                      Case{"2002:808:808::1", nullptr}, Case{"fbff:ffff::1", nullptr},
                      Case{"fe00::1", nullptr}));

TEST(ParseIpAddress, RejectsNamesAndGarbage) {
  EXPECT_FALSE(ParseIpAddress("localhost").has_value());
  EXPECT_FALSE(ParseIpAddress("example.com").has_value());
  EXPECT_FALSE(ParseIpAddress("10.0.0").has_value());
  EXPECT_FALSE(ParseIpAddress("").has_value());
  EXPECT_FALSE(ParseIpAddress("::g").has_value());
}

TEST(FromSockaddr, ReadsBothFamilies) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "169.254.169.254", &v4.sin_addr);
  auto a = FromSockaddr(reinterpret_cast<const sockaddr*>(&v4));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(ToString(*a), "169.254.169.254");
  EXPECT_TRUE(BlockedRange(*a).has_value());

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr);
  auto b = FromSockaddr(reinterpret_cast<const sockaddr*>(&v6));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->family, 6);
  EXPECT_TRUE(BlockedRange(*b).has_value());
}

TEST(HostAllowlist, MatchesHostAndPortExactly) {
  HostAllowlist list({"127.0.0.1:8080", "intranet.example", "*.corp.example", "[::1]:9000"});
  EXPECT_TRUE(list.Allows("127.0.0.1", 8080));
  EXPECT_FALSE(list.Allows("127.0.0.1", 8081));
  EXPECT_FALSE(list.Allows("127.0.0.2", 8080));
  EXPECT_TRUE(list.Allows("INTRANET.example", 80));
  EXPECT_TRUE(list.Allows("intranet.example", 443));
  EXPECT_FALSE(list.Allows("intranet.example.evil.com", 80));
  EXPECT_TRUE(list.Allows("wiki.corp.example", 443));
  EXPECT_FALSE(list.Allows("corp.example", 443));
  EXPECT_FALSE(list.Allows("evilcorp.example", 443));
  EXPECT_TRUE(list.Allows("[::1]", 9000));
  EXPECT_TRUE(list.Allows("0:0::1", 9000));
  EXPECT_FALSE(list.Allows("::1", 9001));
}

TEST(HostAllowlist, EmptyAllowsNothing) {
  HostAllowlist list;
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.Allows("127.0.0.1", 80));
}

TEST(CheckHostEntry, RejectsMalformedEntries) {
  EXPECT_FALSE(CheckHostEntry("127.0.0.1:8080").has_value());
  EXPECT_FALSE(CheckHostEntry("[::1]:8080").has_value());
  EXPECT_FALSE(CheckHostEntry("::1").has_value());
  EXPECT_FALSE(CheckHostEntry("*.example.com").has_value());
  EXPECT_TRUE(CheckHostEntry("127.0.0.1:").has_value());
  EXPECT_TRUE(CheckHostEntry("127.0.0.1:99999").has_value());
  EXPECT_TRUE(CheckHostEntry("http://example.com").has_value());
  EXPECT_TRUE(CheckHostEntry("[::1").has_value());
  EXPECT_TRUE(CheckHostEntry("").has_value());
}

}  // namespace
}  // namespace steward::tools::builtin
