#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace steward::store {
namespace {

TEST(EmbeddedMigrations, AreCompiledInSortedWithChecksums) {
  const auto migrations = EmbeddedMigrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations[0].version, 1);
  EXPECT_EQ(migrations[0].name, "chat");
  EXPECT_NE(migrations[0].sql.find("CREATE TABLE chat_session"), std::string_view::npos);
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    if (i > 0) EXPECT_LT(migrations[i - 1].version, m.version);
    EXPECT_FALSE(m.sql.empty()) << m.name;
    ASSERT_EQ(m.checksum.size(), 64u) << m.name;
    for (char c : m.checksum) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << m.name;
  }
}

}  // namespace
}  // namespace steward::store
