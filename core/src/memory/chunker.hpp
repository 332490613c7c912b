#pragma once
// Splits an item's text into overlapping chunks of about N words for full-text and vector search.
// Chunks end at paragraph breaks when one is near, else at sentence ends, else mid-sentence; the
// next chunk starts up to `overlap` words earlier, at a sentence start when one is in reach, so a
// fact that straddles a boundary is whole in at least one chunk.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace steward::memory {

struct ChunkerOptions {
  int target_words = 160;  // a chunk has at most this many words
  int overlap_words = 32;  // words shared with the previous chunk (< target_words)
  // A run of non-space bytes longer than this counts as several words (a huge line without
  // spaces must not become one giant chunk). Cuts fall on UTF-8 character boundaries.
  size_t max_word_bytes = 64;
};

struct Chunk {
  size_t start = 0;  // byte offset of the first byte in the source text
  size_t end = 0;    // one past the last byte
  int words = 0;
  std::string text;  // source.substr(start, end - start)
};

// Chunks of `text` in order, covering every word at least once. Empty or all-whitespace text
// gives no chunks. Pure function; thread-safe.
[[nodiscard]] std::vector<Chunk> ChunkText(std::string_view text, const ChunkerOptions& options = {});

}  // namespace steward::memory
