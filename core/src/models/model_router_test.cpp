#include "models/model_router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace steward::models {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ProviderConfig Provider(const std::string& name, const std::string& kind) {
  ProviderConfig p;
  p.name = name;
  p.kind = kind;
  if (kind == "openai") p.base_url = "http://127.0.0.1:9/v1";
  if (kind == "anthropic") p.base_url = "http://127.0.0.1:9";
  return p;
}

ModelRoute Model(const std::string& name, const std::string& provider, const std::string& upstream = "") {
  ModelRoute m;
  m.name = name;
  m.provider = provider;
  m.upstream_model = upstream;
  return m;
}

// A scripted provider needs a file on disk.
class ModelRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward_router_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProviderConfig Scripted(const std::string& name, const std::string& yaml) {
    ProviderConfig p = Provider(name, "scripted");
    p.script = (dir_ / (name + ".yaml")).string();
    std::ofstream(p.script) << yaml;
    return p;
  }

  std::filesystem::path dir_;
};

TEST_F(ModelRouterTest, ResolvesEachModelToItsProvider) {
  auto router = ModelRouter::Create(
      {Provider("offline", "offline"), Scripted("bench", "responses:\n  - content: scripted hello\n")},
      {Model("offline", "offline"), Model("fast", "bench", "replay-v1")});
  ASSERT_TRUE(router.ok()) << router.error().ToString();

  auto offline = (*router)->Resolve("offline");
  ASSERT_TRUE(offline.ok());
  EXPECT_EQ(offline->provider->kind(), "offline");
  EXPECT_EQ(offline->route.upstream_model, "offline");  // empty upstream defaults to the name

  auto fast = (*router)->Resolve("fast");
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(fast->provider->kind(), "scripted");
  EXPECT_EQ(fast->route.upstream_model, "replay-v1");
  ChatRequest request;
  request.messages = Json::array({{{"role", "user"}, {"content", "hi"}}});
  auto answer = fast->provider->Complete(request, {});
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->content, "scripted hello");
}

TEST_F(ModelRouterTest, TwoModelsShareOneProvider) {
  auto router = ModelRouter::Create({Provider("offline", "offline")},
                                    {Model("a", "offline"), Model("b", "offline")});
  ASSERT_TRUE(router.ok());
  EXPECT_EQ((*router)->Resolve("a")->provider, (*router)->Resolve("b")->provider);
}

TEST_F(ModelRouterTest, CreatesHttpProvidersWithoutConnecting) {
  auto router = ModelRouter::Create({Provider("oa", "openai"), Provider("an", "anthropic")},
                                    {Model("gpt", "oa", "gpt-4o"), Model("claude", "an", "claude-sonnet-4-5")});
  ASSERT_TRUE(router.ok()) << router.error().ToString();
  EXPECT_EQ((*router)->Resolve("gpt")->provider->kind(), "openai");
  EXPECT_EQ((*router)->Resolve("claude")->provider->kind(), "anthropic");
}

TEST_F(ModelRouterTest, ListsModelsInConfigurationOrder) {
  auto router = ModelRouter::Create({Provider("offline", "offline")},
                                    {Model("zeta", "offline"), Model("alpha", "offline", "x")});
  ASSERT_TRUE(router.ok());
  const auto& models = (*router)->ListModels();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name, "zeta");
  EXPECT_EQ(models[1].name, "alpha");
  EXPECT_EQ(models[1].upstream_model, "x");
}

TEST_F(ModelRouterTest, UnknownModelIsNotFoundAndNamesTheConfiguredOnes) {
  auto router = ModelRouter::Create({Provider("offline", "offline")}, {Model("offline", "offline"), Model("b", "offline")});
  ASSERT_TRUE(router.ok());
  auto r = (*router)->Resolve("gpt-5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(r.error().message, AllOf(HasSubstr("\"gpt-5\""), HasSubstr("configured models: b, offline")));
}

TEST_F(ModelRouterTest, UnknownKindNamesTheProvider) {
  auto router = ModelRouter::Create({Provider("local", "llamafile")}, {});
  ASSERT_FALSE(router.ok());
  EXPECT_EQ(router.error().code, ErrorCode::kConfig);
  EXPECT_EQ(router.error().context, "providers.local.kind");
  EXPECT_THAT(router.error().message, AllOf(HasSubstr("\"llamafile\""), HasSubstr("openai, anthropic, offline or scripted")));
}

TEST_F(ModelRouterTest, RouteToUnknownProviderNamesTheModel) {
  auto router = ModelRouter::Create({Provider("offline", "offline")}, {Model("gpt", "openai")});
  ASSERT_FALSE(router.ok());
  EXPECT_EQ(router.error().code, ErrorCode::kConfig);
  EXPECT_EQ(router.error().context, "models.gpt.provider");
  EXPECT_THAT(router.error().message, AllOf(HasSubstr("unknown provider \"openai\""),
                                            HasSubstr("configured providers: offline")));
}

TEST_F(ModelRouterTest, BadScriptNamesTheProviderAndTheFile) {
  const ProviderConfig bad = Scripted("bench", "responses:\n  - content: x\n    chunk_delay_ms: soon\n");
  auto router = ModelRouter::Create({bad}, {Model("fast", "bench")});
  ASSERT_FALSE(router.ok());
  EXPECT_EQ(router.error().code, ErrorCode::kConfig);
  EXPECT_THAT(router.error().ToString(),
              AllOf(HasSubstr("provider \"bench\""), HasSubstr(bad.script), HasSubstr("responses[0].chunk_delay_ms")));
}

TEST_F(ModelRouterTest, RejectsDuplicateNames) {
  auto providers = ModelRouter::Create({Provider("p", "offline"), Provider("p", "offline")}, {});
  ASSERT_FALSE(providers.ok());
  EXPECT_EQ(providers.error().context, "providers.p");
  auto models = ModelRouter::Create({Provider("p", "offline")}, {Model("m", "p"), Model("m", "p")});
  ASSERT_FALSE(models.ok());
  EXPECT_EQ(models.error().context, "models.m");
}

}  // namespace
}  // namespace steward::models
