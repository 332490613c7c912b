#include "memory/ingest/walker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memory/ingest/testing/temp_dir.hpp"

namespace steward::memory::ingest {
namespace {

std::vector<std::string> Relative(const WalkResult& r, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& f : r.files) out.push_back(f.path.substr(root.size() + 1));
  return out;
}

TEST(WalkDirectory, FindsSupportedFilesSortedSkippingHiddenAndUnknown) {
  testing::TempDir dir;
  dir.Write("b.md", "b");
  dir.Write("a.txt", "a");
  dir.Write("sub/c.pdf", "c");
  dir.Write("sub/deeper/d.json", "{}");
  dir.Write("photo.png", "png");
  dir.Write(".git/config.txt", "x");
  dir.Write(".hidden.md", "x");
  const WalkResult r = WalkDirectory(dir.path(), {});
  EXPECT_THAT(Relative(r, dir.path()),
              ::testing::ElementsAre("a.txt", "b.md", "sub/c.pdf", "sub/deeper/d.json"));
  EXPECT_EQ(r.ignored, 3);  // photo.png, .git, .hidden.md
  EXPECT_TRUE(r.problems.empty());
}

TEST(WalkDirectory, NonRecursiveStaysInTheFolder) {
  testing::TempDir dir;
  dir.Write("a.txt", "a");
  dir.Write("sub/b.txt", "b");
  WalkOptions options;
  options.recursive = false;
  EXPECT_THAT(Relative(WalkDirectory(dir.path(), options), dir.path()), ::testing::ElementsAre("a.txt"));
}

TEST(WalkDirectory, IncludeAndExcludeGlobs) {
  testing::TempDir dir;
  dir.Write("notes/a.md", "a");
  dir.Write("notes/b.txt", "b");
  dir.Write("notes/draft-c.md", "c");
  dir.Write("build/out.md", "x");
  dir.Write("data.xml", "<x/>");  // unsupported, but included by name
  WalkOptions options;
  options.include = {"*.md", "*.xml"};
  options.exclude = {"draft-*", "build"};
  EXPECT_THAT(Relative(WalkDirectory(dir.path(), options), dir.path()),
              ::testing::ElementsAre("data.xml", "notes/a.md"));
}

TEST(WalkDirectory, ListsBrokenLinksAndFifosSoTheyAreReportedButSkipsLinkedFolders) {
  testing::TempDir dir;
  dir.Write("real/x.md", "x");
  ASSERT_EQ(symlink("/nonexistent.md", (dir.path() + "/broken.md").c_str()), 0);
  ASSERT_EQ(mkfifo((dir.path() + "/pipe.txt").c_str(), 0600), 0);
  ASSERT_EQ(symlink((dir.path() + "/real").c_str(), (dir.path() + "/loop").c_str()), 0);
  EXPECT_THAT(Relative(WalkDirectory(dir.path(), {}), dir.path()),
              ::testing::ElementsAre("broken.md", "pipe.txt", "real/x.md"));
}

TEST(GlobMatchesPath, PatternsWithoutSlashMatchTheFileName) {
  EXPECT_TRUE(GlobMatchesPath("*.md", "a/b/c.md"));
  EXPECT_FALSE(GlobMatchesPath("a/*.md", "b/c.md"));
  EXPECT_TRUE(GlobMatchesPath("a/*", "a/b/c.md"));
}

}  // namespace
}  // namespace steward::memory::ingest
