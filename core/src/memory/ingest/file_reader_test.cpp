#include "memory/ingest/file_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memory/ingest/testing/temp_dir.hpp"

namespace steward::memory::ingest {
namespace {

using ::testing::HasSubstr;

TEST(ReadFileCapped, HashesTheWholeFileButKeepsOnlyThePrefix) {
  testing::TempDir dir;
  const std::string big(3u << 20, 'q');  // 3 MiB, one line
  const auto path = dir.Write("big.txt", big);
  auto file = ReadFileCapped(path, 1000);
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  EXPECT_EQ(file->bytes.size(), 1000u);
  EXPECT_EQ(file->size, big.size());
  EXPECT_TRUE(file->cut);
  EXPECT_EQ(file->sha256, Sha256Hex(big));
  EXPECT_GT(file->mtime_s, 0);
}

TEST(ReadFileCapped, SmallFileIsReadWhole) {
  testing::TempDir dir;
  auto file = ReadFileCapped(dir.Write("a.txt", "abc"), 1000);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->bytes, "abc");
  EXPECT_FALSE(file->cut);
  // The well-known SHA-256 of "abc".
  EXPECT_EQ(file->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ReadFileCapped, RefusesFifosDirectoriesAndBrokenLinksWithoutBlocking) {
  testing::TempDir dir;
  const std::string fifo = dir.path() + "/pipe.txt";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = ReadFileCapped(fifo, 100);  // must return at once: nobody writes to it
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.error().message, HasSubstr("FIFO"));

  const std::string folder = dir.path() + "/folder.md";
  ASSERT_EQ(mkdir(folder.c_str(), 0700), 0);
  auto d = ReadFileCapped(folder, 100);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.error().message, HasSubstr("directory"));

  const std::string link = dir.path() + "/dangling.md";
  ASSERT_EQ(symlink("/nonexistent/target.md", link.c_str()), 0);
  auto l = ReadFileCapped(link, 100);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(l.error().message, HasSubstr("broken symbolic link"));

  EXPECT_EQ(ReadFileCapped(dir.path() + "/missing.txt", 100).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace steward::memory::ingest
