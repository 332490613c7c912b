#include "store/embedded_postgres.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "store/database.hpp"
#include "store/detail/postmaster_pid.hpp"

namespace steward::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Each test gets its own STEWARD_HOME and must leave no server running behind it.
class EmbeddedPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/steward-ep-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    home_ = root_ / "home";
  }

  void TearDown() override {
    // Whatever a test left running (an orphan, a failed assertion mid-way) is stopped here.
    for (const fs::path& data : {home_ / "postgres", extra_data_}) {
      if (data.empty() || !fs::exists(data / "postmaster.pid")) continue;
      const std::string cmd = (geteuid() == 0 ? "runuser -u postgres -- " : "") +
                              std::string("/usr/lib/postgresql/15/bin/pg_ctl stop -m immediate -D ") +
                              data.string() + " >/dev/null 2>&1";
      EXPECT_EQ(std::system(cmd.c_str()), 0) << "a test left PostgreSQL running in " << data;
    }
    fs::remove_all(root_);
  }

  static EmbeddedPostgresOptions Options() {
    EmbeddedPostgresOptions options;
    options.sync_initdb = false;
    return options;
  }

  // Runs one statement on the embedded server and returns the first column of the first row.
  static Result<std::string> Query(const std::string& url, const std::string& sql) {
    auto db = Database::Connect(url, 1);
    if (!db.ok()) return db.error();
    return (*db)->Transact([&](pqxx::work& tx) {
      auto rows = tx.exec(sql);
      return rows.empty() ? std::string() : rows[0][0].as<std::string>("");
    });
  }

  // Query's value, or the error text (so a failure shows up in EXPECT_EQ's output).
  static std::string Value(const std::string& url, const std::string& sql) {
    Result<std::string> r = Query(url, sql);
    return r.ok() ? *r : "error: " + r.error().ToString();
  }

  // What a crash of steward leaves behind: a child process starts the server and is then
  // SIGKILLed, so the postmaster keeps running with nobody holding the steward locks.
  std::string StartInChildThenKillIt() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      auto pg = EmbeddedPostgres::Start(home_, Options());
      const std::string msg = pg.ok() ? "ok " + (*pg)->url() : "error " + pg.error().ToString();
      (void)!write(fds[1], msg.data(), msg.size());
      close(fds[1]);
      for (;;) pause();
    }
    close(fds[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    EXPECT_EQ(msg.rfind("ok ", 0), 0u) << msg;
    return msg.size() > 3 ? msg.substr(3) : "";
  }

  fs::path root_;
  fs::path home_;
  fs::path extra_data_;
};

TEST_F(EmbeddedPostgresTest, StartsAPrivateClusterThatAnswersQueriesAndStops) {
  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(pg.ok()) << pg.error().ToString();
  EXPECT_TRUE((*pg)->created_cluster());
  EXPECT_TRUE((*pg)->started_server());
  EXPECT_EQ((*pg)->url().rfind("postgresql:///steward?host=", 0), 0u) << (*pg)->url();
  EXPECT_EQ(Value((*pg)->url(), "SELECT current_database()"), "steward");
  // Socket only: no TCP listener.
  EXPECT_EQ(Value((*pg)->url(), "SHOW listen_addresses"), "");
  EXPECT_TRUE(fs::exists((*pg)->socket_dir() / ".s.PGSQL.5432"));

  ASSERT_TRUE((*pg)->Stop().ok());
  EXPECT_FALSE(fs::exists((*pg)->data_dir() / "postmaster.pid"));
  EXPECT_FALSE(Query((*pg)->url(), "SELECT 1").ok()) << "the server is down";
  EXPECT_TRUE((*pg)->Stop().ok()) << "Stop is idempotent";
}

TEST_F(EmbeddedPostgresTest, RestartReusesTheClusterAndItsData) {
  {
    auto pg = EmbeddedPostgres::Start(home_, Options());
    ASSERT_TRUE(pg.ok()) << pg.error().ToString();
    ASSERT_TRUE(Query((*pg)->url(), "CREATE TABLE kept AS SELECT 'still here'::text AS v").ok());
  }  // the destructor stops the server
  const auto start = std::chrono::steady_clock::now();
  auto again = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE((*again)->created_cluster()) << "no second initdb";
  EXPECT_TRUE((*again)->started_server());
  EXPECT_EQ(Value((*again)->url(), "SELECT v FROM kept"), "still here");
  EXPECT_LT(elapsed, 10s);
}

TEST_F(EmbeddedPostgresTest, AdoptsAServerLeftRunningByAKilledSteward) {
  const std::string url = StartInChildThenKillIt();
  ASSERT_TRUE(Query(url, "SELECT 1").ok()) << "the orphaned server still runs";

  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(pg.ok()) << pg.error().ToString();
  EXPECT_FALSE((*pg)->started_server()) << "adopted, not started";
  EXPECT_FALSE((*pg)->created_cluster());
  EXPECT_EQ((*pg)->url(), url);
  EXPECT_TRUE(Query((*pg)->url(), "SELECT 1").ok());
  // The last user stops the server even though another process started it.
  ASSERT_TRUE((*pg)->Stop().ok());
  EXPECT_FALSE(fs::exists((*pg)->data_dir() / "postmaster.pid"));
}

TEST_F(EmbeddedPostgresTest, RecoversAfterThePostmasterItselfWasKilled) {
  const std::string url = StartInChildThenKillIt();
  ASSERT_TRUE(Query(url, "CREATE TABLE kept AS SELECT 'survived'::text AS v").ok());
  const auto pid = detail::ReadPostmasterPid(home_ / "postgres");
  ASSERT_TRUE(pid.has_value());
  ASSERT_EQ(kill(pid->pid, SIGKILL), 0);
  for (int i = 0; i < 100 && detail::IsLivePostmaster(pid->pid, home_ / "postgres"); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(fs::exists(home_ / "postgres" / "postmaster.pid")) << "the stale pid file is left behind";

  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(pg.ok()) << pg.error().ToString();
  EXPECT_TRUE((*pg)->started_server());
  EXPECT_EQ(Value((*pg)->url(), "SELECT v FROM kept"), "survived") << "crash recovery kept the data";
}

TEST_F(EmbeddedPostgresTest, SharedServerStopsOnlyWhenTheLastUserLeaves) {
  auto first = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto second = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_TRUE((*first)->started_server());
  EXPECT_FALSE((*second)->started_server());

  ASSERT_TRUE((*first)->Stop().ok());
  EXPECT_TRUE(Query((*second)->url(), "SELECT 1").ok()) << "still in use by the second";
  ASSERT_TRUE((*second)->Stop().ok());
  EXPECT_FALSE(Query((*second)->url(), "SELECT 1").ok());
}

TEST_F(EmbeddedPostgresTest, ConcurrentStartsInitializeOnce) {
  std::vector<Result<std::unique_ptr<EmbeddedPostgres>>> results;
  for (int i = 0; i < 3; ++i) results.emplace_back(MakeError(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = EmbeddedPostgres::Start(home_, Options()); });
  for (auto& t : threads) t.join();
  int created = 0;
  int started = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    created += (*r)->created_cluster();
    started += (*r)->started_server();
    EXPECT_TRUE(Query((*r)->url(), "SELECT 1").ok());
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(started, 1);
}

TEST_F(EmbeddedPostgresTest, AHomeThatIsAFileIsAClearError) {
  std::ofstream(home_.string()) << "not a directory";
  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.error().code, ErrorCode::kConfig);
  EXPECT_EQ(pg.error().context, home_.string());
  EXPECT_NE(pg.error().message.find("must be a directory"), std::string::npos) << pg.error().message;
}

TEST_F(EmbeddedPostgresTest, MissingBinariesNameThePackageToInstall) {
  EmbeddedPostgresOptions options = Options();
  options.install_root = root_ / "no-postgres-here";
  auto pg = EmbeddedPostgres::Start(home_, options);
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.error().code, ErrorCode::kConfig);
  EXPECT_NE(pg.error().message.find("PostgreSQL binaries not found in " + options.install_root.string()),
            std::string::npos)
      << pg.error().message;
  EXPECT_NE(pg.error().message.find("install postgresql-15"), std::string::npos);
}

TEST_F(EmbeddedPostgresTest, LongHomePathsPutTheSocketInTmp) {
  home_ = root_ / std::string(60, 'a') / std::string(60, 'b');
  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(pg.ok()) << pg.error().ToString();
  extra_data_ = (*pg)->data_dir();
  EXPECT_EQ((*pg)->socket_dir().parent_path(), fs::path("/tmp"));
  EXPECT_LE(((*pg)->socket_dir() / ".s.PGSQL.5432").string().size(), 107u);
  EXPECT_TRUE(Query((*pg)->url(), "SELECT 1").ok());
  ASSERT_TRUE((*pg)->Stop().ok());
  fs::remove_all((*pg)->socket_dir());
}

TEST_F(EmbeddedPostgresTest, AsRootMakesPrivateAncestorsTraversableForPostgres) {
  if (geteuid() != 0) GTEST_SKIP() << "only root runs PostgreSQL as another user";
  const fs::path private_dir = root_ / "private";
  fs::create_directories(private_dir);
  fs::permissions(private_dir, fs::perms::owner_all, fs::perm_options::replace);
  home_ = private_dir / "home";
  auto pg = EmbeddedPostgres::Start(home_, Options());
  ASSERT_TRUE(pg.ok()) << pg.error().ToString();
  struct stat st {};
  ASSERT_EQ(stat(private_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0701u) << "exactly o+x was added";
  ASSERT_EQ(stat((*pg)->data_dir().c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "the data directory belongs to postgres";
  EXPECT_TRUE(Query((*pg)->url(), "SELECT 1").ok());
}

}  // namespace
}  // namespace steward::store
