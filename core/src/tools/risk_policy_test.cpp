#include "tools/risk_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace steward::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

ToolInfo Tool(std::string name, std::string declared = "low") {
  ToolInfo info;
  info.name = std::move(name);
  info.server = info.name.substr(0, info.name.find('.'));
  info.risk_tier = std::move(declared);
  return info;
}

// A fresh directory holding `scratch/` and `outside/`, removed afterwards.
class ScratchDir : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("steward-risk-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_ / "scratch" / "sub");
    fs::create_directories(root_ / "outside");
    scratch_ = root_ / "scratch";
    RiskPolicyConfig config;
    config.scratch_dir = scratch_;
    policy_ = std::make_unique<RiskPolicy>(config);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  Assessment Write(const json& args, std::string tool = "fs.write_file") {
    return policy_->Assess(Tool(std::move(tool)), args, "low");
  }

  fs::path root_;
  fs::path scratch_;
  std::unique_ptr<RiskPolicy> policy_;
};

struct TierCase {
  const char* tool;
  const char* tier;
};

TEST(DefaultTier, FollowsTheBuiltInRules) {
  const TierCase cases[] = {
      {"email.send", "high"},           {"slack.post_message", "high"}, {"gmail.sendMessage", "high"},
      {"chat.chat_postMessage", "high"}, {"email.reply_all", "high"},   {"fs.delete_file", "high"},
      {"files.remove", "high"},         {"git.rm", "high"},             {"shop.purchase", "high"},
      {"stripe.create_payment", "high"}, {"travel.book_flight", "high"}, {"table.reserve", "high"},
      {"shell.run", "high"},            {"os.exec_command", "high"},    {"ci.run_command", "high"},
      {"fs.write_file", "high"},        {"fs.edit_file", "high"},       {"fs.move_file", "high"},
      {"fs.create_directory", "high"},  {"web.search", "medium"},       {"web.fetch", "medium"},
      {"rss.fetch_feed", "medium"},     {"site.download_page", "medium"}, {"memory.search", "low"},
      {"memory.remember", "low"},       {"memory.recall_conversation", "low"},
      {"fs.read_text_file", "low"},     {"fs.list_directory", "low"},  {"github.getIssue", "low"},
      {"email.draft", "low"},           {"email.send_draft", "high"},        {"hn.top_stories", "medium"},  {"calendar.add_event", "medium"},
      {"bare", "medium"},
  };
  for (const auto& c : cases) EXPECT_EQ(DefaultTier(c.tool), c.tier) << c.tool;
}

TEST(DefaultTier, WordsInsideOtherWordsDoNotTrigger) {
  EXPECT_NE(DefaultTier("ui.display_text"), "high");       // not "pay"
  EXPECT_NE(DefaultTier("notes.notebook_list"), "high");   // not "book"
  EXPECT_NE(DefaultTier("memory.remember"), "high");       // not "rm"
}

TEST(DefaultTier, AnnotationsOnlyRaiseTheTier) {
  EXPECT_EQ(DefaultTier("db.update_row", json{{"destructiveHint", true}}), "high");
  EXPECT_EQ(DefaultTier("db.update_row", json{{"destructiveHint", true}, {"readOnlyHint", true}}), "medium");
  EXPECT_EQ(DefaultTier("db.lookup", json{{"openWorldHint", true}}), "medium");
  EXPECT_EQ(DefaultTier("db.lookup", json{{"destructiveHint", true}}), "high");
  EXPECT_EQ(DefaultTier("email.send", json{{"readOnlyHint", true}, {"destructiveHint", false}}), "high");
  // Spec defaults are not applied: an unannotated tool stays as its name says.
  EXPECT_EQ(DefaultTier("db.lookup", json::object()), "low");
  EXPECT_EQ(DefaultTier("db.lookup", json(nullptr)), "low");
}

TEST(RiskPolicy, ConfiguredGlobsOverrideTheDefaults) {
  RiskPolicyConfig config;
  config.tiers = {{"memory.*", Tier::kHigh}, {"email.send", Tier::kLow}, {"web.*", Tier::kLow}};
  const RiskPolicy policy(config);
  const Assessment remember = policy.Assess(Tool("memory.remember"), json::object(), "low");
  EXPECT_EQ(remember.tier, Tier::kHigh);
  EXPECT_TRUE(remember.needs_approval);
  EXPECT_THAT(remember.reason, HasSubstr("policy.tiers \"memory.*\""));
  EXPECT_EQ(policy.TierOf(Tool("email.send")), Tier::kLow);
  EXPECT_EQ(policy.TierOf(Tool("web.fetch")), Tier::kLow);
  EXPECT_EQ(policy.TierOf(Tool("shell.run")), Tier::kHigh);  // not configured: default
}

TEST(RiskPolicy, TheMostSpecificGlobWinsAndTiesGoToTheFirst) {
  RiskPolicyConfig config;
  config.tiers = {{"*", Tier::kHigh}, {"email.*", Tier::kMedium}, {"email.send", Tier::kLow},
                  {"web.*", Tier::kLow}, {"web.?etch", Tier::kHigh}, {"we?.fetch", Tier::kMedium}};
  const RiskPolicy policy(config);
  EXPECT_EQ(policy.TierOf(Tool("email.send")), Tier::kLow);
  EXPECT_EQ(policy.TierOf(Tool("email.draft")), Tier::kMedium);
  EXPECT_EQ(policy.TierOf(Tool("memory.search")), Tier::kHigh);
  EXPECT_EQ(policy.TierOf(Tool("web.fetch")), Tier::kHigh);  // 8 literal characters each: first wins
}

TEST(RiskPolicy, ADeclaredTierAboveTheDefaultWins) {
  const RiskPolicy policy({});
  const Assessment a = policy.Assess(Tool("crm.update_contact", "high"), json::object(), "high");
  EXPECT_EQ(a.tier, Tier::kHigh);
  EXPECT_THAT(a.reason, HasSubstr("declared high"));
  // A declaration can't talk a sending tool down.
  EXPECT_EQ(policy.TierOf(Tool("email.send", "low")), Tier::kHigh);
  // An unknown declaration is treated as high.
  EXPECT_EQ(policy.TierOf(Tool("x.y", "weird")), Tier::kHigh);
}

// The policy memoises what a name alone decides; asking again, or with other arguments or
// another declared tier, must give what a fresh policy gives.
TEST(RiskPolicy, AskingAgainGivesTheSameVerdictAsAFreshPolicy) {
  const RiskPolicy policy({});
  const char* names[] = {"email.send", "fs.delete_file", "web.fetch", "memory.search",
                         "email.draft", "fs.write_file", "hn.top_stories", "bare"};
  for (int round = 0; round < 2; ++round) {
    for (const char* name : names) {
      for (const char* declared : {"low", "medium", "high"}) {
        const Assessment got = policy.Assess(Tool(name, declared), json{{"path", "/tmp/x"}}, "low");
        const Assessment want = RiskPolicy({}).Assess(Tool(name, declared), json{{"path", "/tmp/x"}}, "low");
        EXPECT_EQ(got.tier, want.tier) << name << " declared " << declared << " round " << round;
        EXPECT_EQ(got.reason, want.reason) << name << " declared " << declared << " round " << round;
      }
    }
  }
}

TEST(NeedsApproval, HighAlwaysMediumUnlessAllowedLowNever) {
  EXPECT_TRUE(NeedsApproval(Tier::kHigh, "low"));
  EXPECT_TRUE(NeedsApproval(Tier::kHigh, "medium"));
  EXPECT_TRUE(NeedsApproval(Tier::kHigh, "high"));
  EXPECT_TRUE(NeedsApproval(Tier::kMedium, "low"));
  EXPECT_FALSE(NeedsApproval(Tier::kMedium, "medium"));
  EXPECT_FALSE(NeedsApproval(Tier::kMedium, "high"));
  EXPECT_TRUE(NeedsApproval(Tier::kMedium, ""));       // unknown counts as low
  EXPECT_TRUE(NeedsApproval(Tier::kMedium, "HIGH"));
  EXPECT_FALSE(NeedsApproval(Tier::kLow, "low"));
}

TEST(RiskPolicy, AssessAppliesTheAgentsThreshold) {
  const RiskPolicy policy({});
  EXPECT_TRUE(policy.Assess(Tool("web.fetch"), json::object(), "low").needs_approval);
  EXPECT_FALSE(policy.Assess(Tool("web.fetch"), json::object(), "medium").needs_approval);
  EXPECT_TRUE(policy.Assess(Tool("email.send"), json::object(), "high").needs_approval);
  const Assessment low = policy.Assess(Tool("memory.search"), json::object(), "low");
  EXPECT_EQ(low.tier, Tier::kLow);
  EXPECT_FALSE(low.needs_approval);
}

TEST(RiskPolicy, ASendOnlyToTheOwnersOwnAddressesIsLow) {
  RiskPolicyConfig config;
  config.owner_addresses = {"Me@Example.com", "*@me.example"};
  const RiskPolicy policy(config);
  const Assessment mine = policy.Assess(Tool("email.send", "high"),
                                        json{{"to", json::array({"Me <me@example.COM>"})}, {"cc", "ann@me.example"}},
                                        "low");
  EXPECT_EQ(mine.tier, Tier::kLow);
  EXPECT_FALSE(mine.needs_approval);
  EXPECT_THAT(mine.reason, HasSubstr("owner's own address"));
  // One other recipient anywhere (to, cc or bcc) and it is a send like any other.
  EXPECT_EQ(policy.Assess(Tool("email.send"), json{{"to", json::array({"me@example.com", "bob@x.org"})}}, "low").tier,
            Tier::kHigh);
  EXPECT_EQ(policy.Assess(Tool("email.send"), json{{"to", "me@example.com"}, {"bcc", json::array({"eve@x.org"})}}, "low")
                .tier,
            Tier::kHigh);
  EXPECT_EQ(policy.Assess(Tool("email.send"), json{{"to", json::array({1})}}, "low").tier, Tier::kHigh);
  EXPECT_EQ(policy.Assess(Tool("email.send"), json{{"subject", "no recipient"}}, "low").tier, Tier::kHigh);
  // Only sending tools, and only per call: listings stay high.
  EXPECT_EQ(policy.Assess(Tool("chat.post_message"), json{{"to", "me@example.com"}}, "low").tier, Tier::kHigh);
  EXPECT_EQ(policy.TierOf(Tool("email.send")), Tier::kHigh);
  // An explicit tier for the tool wins.
  config.tiers = {{"email.send", Tier::kHigh}};
  EXPECT_EQ(RiskPolicy(config).Assess(Tool("email.send"), json{{"to", "me@example.com"}}, "low").tier, Tier::kHigh);
  // Without owner addresses nothing changes.
  EXPECT_EQ(RiskPolicy({}).Assess(Tool("email.send"), json{{"to", "me@example.com"}}, "low").tier, Tier::kHigh);
}

TEST_F(ScratchDir, WritesInsideTheScratchFolderAreLow) {
  const Assessment a = Write({{"path", (scratch_ / "notes.txt").string()}, {"content", "x"}});
  EXPECT_EQ(a.tier, Tier::kLow) << a.reason;
  EXPECT_FALSE(a.needs_approval);
  // A file in a folder that does not exist yet, and the folder itself.
  EXPECT_EQ(Write({{"path", (scratch_ / "new" / "deep" / "a.md").string()}}).tier, Tier::kLow);
  EXPECT_EQ(Write({{"path", scratch_.string()}}, "fs.create_directory").tier, Tier::kLow);
}

TEST_F(ScratchDir, WritesOutsideAreHighAndSayWhere) {
  const std::string target = (root_ / "outside" / "x.txt").string();
  const Assessment a = Write({{"path", target}});
  EXPECT_EQ(a.tier, Tier::kHigh);
  EXPECT_TRUE(a.needs_approval);
  EXPECT_THAT(a.reason, HasSubstr("outside the scratch folder"));
  EXPECT_THAT(a.reason, HasSubstr(target));
}

TEST_F(ScratchDir, EachWriteIsJudgedByItsOwnPaths) {
  // One policy, one tool name, alternating arguments: only the name's facts may be remembered.
  const std::string inside = (scratch_ / "a.txt").string();
  const std::string outside = (root_ / "outside" / "a.txt").string();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Write({{"path", inside}}).tier, Tier::kLow);
    EXPECT_EQ(Write({{"path", outside}}).tier, Tier::kHigh);
  }
}

TEST_F(ScratchDir, DotDotCannotEscape) {
  EXPECT_EQ(Write({{"path", (scratch_ / ".." / "outside" / "x").string()}}).tier, Tier::kHigh);
  EXPECT_EQ(Write({{"path", (scratch_ / "sub" / ".." / ".." / "x").string()}}).tier, Tier::kHigh);
  EXPECT_EQ(Write({{"path", (scratch_ / "missing" / ".." / ".." / "x").string()}}).tier, Tier::kHigh);
  // `..` that stays inside is fine.
  EXPECT_EQ(Write({{"path", (scratch_ / "sub" / ".." / "x").string()}}).tier, Tier::kLow);
}

TEST_F(ScratchDir, SymlinksAreResolved) {
  fs::create_directory_symlink(root_ / "outside", scratch_ / "escape");
  EXPECT_EQ(Write({{"path", (scratch_ / "escape" / "x.txt").string()}}).tier, Tier::kHigh);
  EXPECT_EQ(Write({{"path", (scratch_ / "escape").string()}}).tier, Tier::kHigh);
  // Lexically "missing/.." vanishes and the rest goes through the link.
  EXPECT_EQ(Write({{"path", (scratch_ / "missing" / ".." / "escape" / "x").string()}}).tier, Tier::kHigh);
  // A link outside that points into the scratch folder is inside.
  fs::create_directory_symlink(scratch_ / "sub", root_ / "outside" / "in");
  EXPECT_EQ(Write({{"path", (root_ / "outside" / "in" / "y").string()}}).tier, Tier::kLow);
}

TEST_F(ScratchDir, ASiblingWithTheSamePrefixIsOutside) {
  fs::create_directories(root_ / "scratch2");
  EXPECT_EQ(Write({{"path", (root_ / "scratch2" / "x").string()}}).tier, Tier::kHigh);
}

TEST_F(ScratchDir, EveryPathArgumentMustBeInside) {
  const std::string in = (scratch_ / "a").string();
  const std::string out = (root_ / "outside" / "a").string();
  EXPECT_EQ(Write({{"source", in}, {"destination", out}}, "fs.move_file").tier, Tier::kHigh);
  EXPECT_EQ(Write({{"source", out}, {"destination", in}}, "fs.move_file").tier, Tier::kHigh);
  EXPECT_EQ(Write({{"source", in}, {"destination", (scratch_ / "b").string()}}, "fs.move_file").tier, Tier::kLow);
  EXPECT_EQ(Write({{"paths", {in, out}}}, "fs.write_many").tier, Tier::kHigh);
  EXPECT_EQ(Write({{"outputPath", out}, {"path", in}}).tier, Tier::kHigh);
}

TEST_F(ScratchDir, UncheckablePathsAreHigh) {
  EXPECT_EQ(Write({{"path", "notes.txt"}}).tier, Tier::kHigh);            // relative
  EXPECT_EQ(Write({{"path", "~/notes.txt"}}).tier, Tier::kHigh);          // not expanded here
  EXPECT_EQ(Write({{"content", "no path at all"}}).tier, Tier::kHigh);
  EXPECT_EQ(Write({{"path", json{{"nested", "x"}}}}).tier, Tier::kHigh);  // not a string
  EXPECT_EQ(policy_->TierOf(Tool("fs.write_file")), Tier::kHigh);         // no arguments to check
}

TEST(RiskPolicy, WithoutAScratchFolderEveryWriteIsHigh) {
  const RiskPolicy policy({});
  EXPECT_EQ(policy.Assess(Tool("fs.write_file"), {{"path", "/tmp/x"}}, "high").tier, Tier::kHigh);
}

TEST(RiskPolicy, ReadsAreNotCheckedAgainstTheScratchFolder) {
  RiskPolicyConfig config;
  config.scratch_dir = "/nonexistent-scratch";
  const RiskPolicy policy(config);
  EXPECT_EQ(policy.Assess(Tool("fs.read_text_file"), {{"path", "/etc/hosts"}}, "low").tier, Tier::kLow);
}

TEST(PathInside, ComparesWholeComponents) {
  EXPECT_TRUE(PathInside("/a/b", "/a/b"));
  EXPECT_TRUE(PathInside("/a/b/c", "/a/b/"));
  EXPECT_FALSE(PathInside("/a/bc", "/a/b"));
  EXPECT_FALSE(PathInside("/a", "/a/b"));
  EXPECT_FALSE(PathInside("a/b", "/a"));
  EXPECT_FALSE(PathInside("/a/b", ""));
}

}  // namespace
}  // namespace steward::tools
