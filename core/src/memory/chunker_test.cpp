#include "memory/chunker.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace steward::memory {
namespace {

std::string Sentences(int count, int words_each, const std::string& prefix = "w") {
  std::ostringstream out;
  for (int s = 0; s < count; ++s) {
    for (int w = 0; w < words_each; ++w) {
      out << prefix << s << "_" << w;
      out << (w + 1 == words_each ? ". " : " ");
    }
  }
  return out.str();
}

TEST(Chunker, EmptyAndBlankTextGiveNoChunks) {
  EXPECT_TRUE(ChunkText("").empty());
  EXPECT_TRUE(ChunkText(" \n\t \n").empty());
}

TEST(Chunker, ShortTextIsOneChunkWithExactOffsets) {
  const std::string text = "  Hello world. Second sentence!  ";
  const auto chunks = ChunkText(text);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "Hello world. Second sentence!");
  EXPECT_EQ(chunks[0].start, 2u);
  EXPECT_EQ(text.substr(chunks[0].start, chunks[0].end - chunks[0].start), chunks[0].text);
  EXPECT_EQ(chunks[0].words, 4);
}

TEST(Chunker, ChunksRespectTheWordLimitOverlapAndCoverEveryWord) {
  const std::string text = Sentences(40, 9);  // 360 words
  ChunkerOptions options{50, 10, 64};
  const auto chunks = ChunkText(text, options);
  ASSERT_GT(chunks.size(), 6u);
  std::set<std::string> seen;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    EXPECT_LE(c.words, 50);
    EXPECT_EQ(text.substr(c.start, c.end - c.start), c.text);
    std::istringstream in(c.text);
    for (std::string w; in >> w;) seen.insert(w);
    if (i > 0) {
      // Overlap: this chunk starts inside the previous one, and after its start.
      EXPECT_LT(c.start, chunks[i - 1].end);
      EXPECT_GT(c.start, chunks[i - 1].start);
    }
  }
  std::istringstream all(text);
  for (std::string w; all >> w;) EXPECT_TRUE(seen.count(w)) << w;
}

TEST(Chunker, ChunksEndAtSentenceEndsAndOverlapStartsAtASentence) {
  const std::string text = Sentences(30, 7);
  const auto chunks = ChunkText(text, ChunkerOptions{40, 10, 64});
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].text.back(), '.') << chunks[i].text;
    // Starts with the first word of a sentence ("w<s>_0").
    const std::string& next = chunks[i + 1].text;
    EXPECT_EQ(next.substr(next.find('_'), 3), "_0 ") << next;
  }
}

TEST(Chunker, PrefersParagraphBreaks) {
  std::string text = Sentences(3, 10, "a") + "\n\n" + Sentences(3, 10, "b");
  const auto chunks = ChunkText(text, ChunkerOptions{45, 5, 64});
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].words, 30);
  EXPECT_EQ(chunks[0].text.find('b'), std::string::npos);
}

TEST(Chunker, HugeLineWithoutSpacesIsSplitOnCharacterBoundaries) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "é";  // 10000 bytes, no spaces
  const auto chunks = ChunkText(text, ChunkerOptions{20, 4, 64});
  ASSERT_GT(chunks.size(), 5u);
  for (const auto& c : chunks) {
    EXPECT_LE(c.text.size(), 20u * 64u);
    // Every chunk is whole characters: begins on a lead byte, even length.
    EXPECT_NE(static_cast<unsigned char>(c.text[0]) & 0xC0, 0x80);
    EXPECT_EQ(c.text.size() % 2, 0u);
  }
  EXPECT_EQ(chunks.back().end, text.size());
}

TEST(Chunker, OverlapEqualToTargetStillMakesProgress) {
  const std::string text = Sentences(10, 10);
  const auto chunks = ChunkText(text, ChunkerOptions{5, 50, 64});
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back().end, text.size() - 1);  // the trailing space is not part of a chunk
  EXPECT_LT(chunks.size(), 200u);
}

}  // namespace
}  // namespace steward::memory
