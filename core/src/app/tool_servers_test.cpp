#include "app/tool_servers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace steward::app {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ScratchDir final {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("steward-tool-servers-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
             "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

tools::McpServerConfig Server(std::string name, bool roots) {
  tools::McpServerConfig s;
  s.name = std::move(name);
  s.command = "node";
  s.args = {"server.js"};
  s.append_file_roots = roots;
  return s;
}

TEST(PrepareMcpServers, AppendsTheDefaultRootUnderHomeAndCreatesIt) {
  ScratchDir home;
  Config config;
  config.mcp_servers = {Server("fs", true), Server("other", false)};
  auto servers = PrepareMcpServers(config, home.path());
  ASSERT_TRUE(servers.ok()) << servers.error().ToString();
  const std::string root = (home.path() / "files").string();
  EXPECT_THAT((*servers)[0].args, ElementsAre("server.js", root));
  EXPECT_THAT((*servers)[1].args, ElementsAre("server.js"));
  EXPECT_TRUE(fs::is_directory(root));
  EXPECT_EQ(fs::status(root).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(PrepareMcpServers, UsesTheConfiguredRoots) {
  ScratchDir home;
  Config config;
  config.files.roots = {(home.path() / "a").string(), (home.path() / "b" / "c").string()};
  config.mcp_servers = {Server("fs", true)};
  auto servers = PrepareMcpServers(config, home.path());
  ASSERT_TRUE(servers.ok()) << servers.error().ToString();
  EXPECT_THAT((*servers)[0].args, ElementsAre("server.js", config.files.roots[0], config.files.roots[1]));
  EXPECT_TRUE(fs::is_directory(home.path() / "b" / "c"));
  EXPECT_FALSE(fs::exists(home.path() / "files"));
}

TEST(PrepareMcpServers, ARootThatCannotBeCreatedIsAConfigError) {
  ScratchDir home;
  std::ofstream(home.path() / "plain-file") << "x";
  Config config;
  config.files.roots = {(home.path() / "plain-file" / "sub").string()};
  config.mcp_servers = {Server("fs", true)};
  auto servers = PrepareMcpServers(config, home.path());
  ASSERT_FALSE(servers.ok());
  EXPECT_EQ(servers.error().code, ErrorCode::kConfig);
  EXPECT_EQ(servers.error().context, "files.roots");
  EXPECT_THAT(servers.error().message, HasSubstr("plain-file"));
}

TEST(FindBundledFilesServer, UsesStewardToolsDirWhenThePackageIsThere) {
  ScratchDir tools;
  const fs::path script =
      tools.path() / "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";
  ::setenv("STEWARD_TOOLS_DIR", tools.path().c_str(), 1);
  EXPECT_FALSE(FindBundledFilesServer().has_value());  // no package yet
  fs::create_directories(script.parent_path());
  std::ofstream(script) << "// server";
  auto server = FindBundledFilesServer();
  ::unsetenv("STEWARD_TOOLS_DIR");
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(server.has_value());
  EXPECT_EQ(server->name, "fs");
  EXPECT_THAT(server->args, ElementsAre(script.string()));
  EXPECT_TRUE(server->append_file_roots);
  EXPECT_THAT(server->command, HasSubstr("node"));
}

}  // namespace
}  // namespace steward::app
