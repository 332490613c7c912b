#include "app/detail/memory_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  const EnvLookup lookup = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", "/nonexistent-steward-dir", lookup);
}

TEST(MemoryConfig, DefaultsToTheLocalModelAndAutoBackend) {
  const Result<Config> config = Load("server: {listen: 127.0.0.1:8377}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const memory::MemoryConfig& m = config->memory;
  EXPECT_EQ(m.embeddings.provider, "local");
  EXPECT_EQ(m.embeddings.RecordedName(), "local:all-MiniLM-L6-v2");
  EXPECT_EQ(m.index.vector_backend, "auto");
  EXPECT_DOUBLE_EQ(m.index.rrf_k, 60);
  EXPECT_EQ(DefaultConfig().memory.embeddings.provider, "local");
}

TEST(MemoryConfig, ReadsAnOpenAiCompatibleProviderAndSearchKnobs) {
  const Result<Config> config = Load(R"(
memory:
  embeddings:
    provider: openai
    base_url: http://127.0.0.1:11434/v1
    model: nomic-embed-text
    api_key: ${EMBED_KEY}
    dimension: 768
  search:
    rrf_k: 20
    recency_half_life_days: 30
    vector_backend: hnswlib
    source_authority: {"/notes/*": 1.5, "https://*": 0.5}
  chunking: {words: 100, overlap: 20}
)",
                                     {{"EMBED_KEY", "ek-secret"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const memory::MemoryConfig& m = config->memory;
  EXPECT_EQ(m.embeddings.provider, "openai");
  EXPECT_EQ(m.embeddings.api_key, "ek-secret");
  EXPECT_EQ(m.embeddings.dimension, 768);
  EXPECT_EQ(m.embeddings.RecordedName(), "openai:nomic-embed-text");
  EXPECT_DOUBLE_EQ(m.index.rrf_k, 20);
  EXPECT_DOUBLE_EQ(m.index.recency_half_life_days, 30);
  EXPECT_EQ(m.index.vector_backend, "hnswlib");
  EXPECT_DOUBLE_EQ(m.index.source_authority.at("/notes/*"), 1.5);
  EXPECT_EQ(m.index.chunk_tokens, 100);
  EXPECT_EQ(m.index.chunk_overlap, 20);
}

TEST(MemoryConfig, RejectsIncompleteOrWrongSettingsNamingTheKey) {
  struct Case {
    const char* yaml;
    const char* says;
  };
  const Case cases[] = {
      {"memory: {embeddings: {provider: openai, model: m}}", "needs base_url"},
      {"memory: {embeddings: {provider: openai, base_url: 'http://x/v1'}}", "needs model"},
      {"memory: {embeddings: {provider: magic}}", "embeddings provider"},
      {"memory: {embeddings: {provider: local, model: bge-large}}", "runs all-MiniLM-L6-v2 only"},
      {"memory: {search: {vector_backend: faiss}}", "vector backend"},
      {"memory: {chunking: {words: 50, overlap: 50}}", "overlap must be smaller"},
      {"memory: {searhc: {}}", "searhc"},
  };
  for (const Case& c : cases) {
    const Result<Config> config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_THAT(config.error().ToString(), HasSubstr(c.says)) << c.yaml;
    EXPECT_THAT(config.error().ToString(), HasSubstr("memory")) << c.yaml;
  }
}

TEST(MemoryConfig, NeverQuotesTheApiKey) {
  const Result<Config> config = Load("memory: {embeddings: {provider: openai, base_url: '${URL}', api_key: '${K}'}}",
                                     {{"URL", "ftp://nope"}, {"K", "sk-very-secret"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().ToString(), Not(HasSubstr("sk-very-secret")));
}

}  // namespace
}  // namespace steward::app
