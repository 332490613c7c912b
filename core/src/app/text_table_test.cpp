#include "app/text_table.hpp"

#include <gtest/gtest.h>

namespace steward::app {
namespace {

TEST(TextTable, PadsEveryColumnButTheLastToItsWidestCell) {
  EXPECT_EQ(TextTable({{"NAME", "STATE", "NOTE"}, {"fs", "ready", "x"}, {"remote", "down", ""}}),
            "NAME    STATE  NOTE\n"
            "fs      ready  x\n"
            "remote  down\n");
}

TEST(TextTable, EmptyInputIsEmpty) { EXPECT_EQ(TextTable({}), ""); }

}  // namespace
}  // namespace steward::app
