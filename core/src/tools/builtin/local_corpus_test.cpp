#include "tools/builtin/local_corpus.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace steward::tools::builtin {
namespace {

namespace fs = std::filesystem;

fs::path ShippedCorpus() {
  return (fs::path(STEWARD_SOURCE_DIR) / "config/corpus").lexically_normal();
}

std::string TopTitle(const LocalCorpus& corpus, std::string_view query) {
  const auto hits = corpus.Search(query, 3);
  return hits.empty() ? "" : corpus.documents()[hits[0].index].title;
}

TEST(CorpusTerms, DropsStopWordsAndFoldsPlurals) {
  EXPECT_EQ(CorpusTerms("What are the Agents' libraries and classes?"),
            (std::vector<std::string>{"agent", "library", "class"}));
  EXPECT_EQ(CorpusTerms("PostgreSQL's MVCC, pgvector & HNSW"),
            (std::vector<std::string>{"postgresql", "mvcc", "pgvector", "hnsw"}));
  EXPECT_TRUE(CorpusTerms("the and of").empty());
}

TEST(LocalCorpus, LoadsTheShippedCorpusWithTitlesAndUrls) {
  auto corpus = LocalCorpus::Load(ShippedCorpus());
  ASSERT_TRUE(corpus.ok()) << corpus.error().ToString();
  ASSERT_GE(corpus->documents().size(), 12u);
  for (const auto& doc : corpus->documents()) {
    EXPECT_FALSE(doc.title.empty());
    EXPECT_EQ(doc.url.rfind("https://", 0), 0u) << doc.title << ": " << doc.url;
    EXPECT_EQ(doc.content.find("---"), std::string::npos) << "front matter left in " << doc.title;
  }
}

TEST(LocalCorpus, RanksTheDocumentAboutTheQueryFirstOnTheShippedCorpus) {
  auto corpus = LocalCorpus::Load(ShippedCorpus());
  ASSERT_TRUE(corpus.ok()) << corpus.error().ToString();
  EXPECT_EQ(TopTitle(*corpus, "postgresql full text search tsvector"), "PostgreSQL full-text search");
  EXPECT_EQ(TopTitle(*corpus, "MCP stdio streamable HTTP transport"), "MCP transports - stdio and Streamable HTTP");
  EXPECT_EQ(TopTitle(*corpus, "pgvector HNSW index"), "pgvector - vector similarity search for PostgreSQL");
  EXPECT_EQ(TopTitle(*corpus, "crew of role-playing agents"), "CrewAI - role-playing agent crews");
  EXPECT_EQ(TopTitle(*corpus, "prompt injection"), "Prompt injection and tool-using agents");
  EXPECT_EQ(TopTitle(*corpus, "serializable isolation"), "PostgreSQL transactions and MVCC");

  const auto hits = corpus->Search("agent frameworks", 20);
  ASSERT_GE(hits.size(), 4u);
  for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  EXPECT_TRUE(corpus->Search("the of and", 5).empty());
  EXPECT_TRUE(corpus->Search("zzyzx", 5).empty());
}

TEST(LocalCorpus, SnippetIsThePassageWithTheQueryTerms) {
  auto corpus = LocalCorpus::Load(ShippedCorpus());
  ASSERT_TRUE(corpus.ok());
  const auto hits = corpus->Search("cloud metadata service", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].snippet.find("169.254.169.254"), std::string::npos) << hits[0].snippet;
  EXPECT_LE(hits[0].snippet.size(), 310u);
}

TEST(LocalCorpus, Bm25PrefersFrequentRareTermsAndShortDocuments) {
  auto corpus = LocalCorpus::FromDocuments({
      {"a", "u1", "apple banana cherry date elderberry fig grape"},  // one mention, long
      {"b", "u2", "apple apple apple kiwi"},                         // frequent
      {"c", "u3", "apple kiwi"},                                     // one mention, short
      {"d", "u4", "banana"},
  });
  const auto hits = corpus.Search("apple", 10);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].index, 1u);
  EXPECT_EQ(hits[1].index, 2u);
  EXPECT_EQ(hits[2].index, 0u);
  // "cherry" is rarer than "apple", so a document with it outranks one with apple only.
  const auto rare = corpus.Search("apple cherry", 10);
  EXPECT_EQ(rare[0].index, 0u);
  EXPECT_EQ(corpus.Search("apple", 2).size(), 2u);
}

TEST(LocalCorpus, TitleTermsCountTwice) {
  auto corpus = LocalCorpus::FromDocuments({
      {"Notes", "u1", "postgres tips and postgres tricks"},
      {"Postgres", "u2", "tips and tricks for postgres"},
  });
  EXPECT_EQ(corpus.Search("postgres", 1)[0].index, 1u);
}

TEST(LocalCorpus, LoadsJsonlAndReportsBadLines) {
  const fs::path dir = fs::temp_directory_path() / ("steward_corpus_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path good = dir / "docs.jsonl";
  std::ofstream(good) << R"({"title": "One", "url": "https://one.example", "content": "first document"})" << "\n\n"
                      << R"({"url": "https://two.example", "text": "second document"})" << "\n";
  auto corpus = LocalCorpus::Load(good);
  ASSERT_TRUE(corpus.ok()) << corpus.error().ToString();
  ASSERT_EQ(corpus->documents().size(), 2u);
  EXPECT_EQ(corpus->documents()[1].title, "https://two.example");
  EXPECT_EQ(TopTitle(*corpus, "second"), "https://two.example");

  const fs::path bad = dir / "bad.jsonl";
  std::ofstream(bad) << R"({"title": "One", "content": "ok"})" << "\n" << "not json\n";
  auto failed = LocalCorpus::Load(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kConfig);
  EXPECT_NE(failed.error().context.find("bad.jsonl:2"), std::string::npos) << failed.error().ToString();

  auto missing = LocalCorpus::Load(dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfig);
  fs::remove_all(dir);
}

TEST(LocalCorpus, ReadsHtmlAndMarkdownWithoutFrontMatter) {
  const fs::path dir = fs::temp_directory_path() / ("steward_corpus_dir_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "page.html") << "<html><head><title>Html Page</title><script>x()</script></head>"
                                      "<body><p>About gardening.</p></body></html>";
  std::ofstream(dir / "sub" / "note.md") << "# Heading Title\n\nAbout cooking.\n";
  std::ofstream(dir / "image.png") << "\x89PNG";
  auto corpus = LocalCorpus::Load(dir);
  ASSERT_TRUE(corpus.ok()) << corpus.error().ToString();
  ASSERT_EQ(corpus->documents().size(), 2u);
  EXPECT_EQ(TopTitle(*corpus, "gardening"), "Html Page");
  EXPECT_EQ(TopTitle(*corpus, "cooking"), "Heading Title");
  EXPECT_EQ(corpus->documents()[0].content.find("x()"), std::string::npos);
  EXPECT_EQ(corpus->documents()[0].url.rfind("file://", 0), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace steward::tools::builtin
