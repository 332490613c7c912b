#include "memory/chunker.hpp"

#include <algorithm>

namespace steward::memory {

namespace {

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Word {
  size_t begin = 0;
  size_t end = 0;
  bool sentence_end = false;    // ends with . ! ? (possibly followed by quotes/brackets)
  bool paragraph_end = false;   // a blank line (or the end of the text) follows
};

bool EndsSentence(std::string_view w) {
  while (!w.empty() && (w.back() == '"' || w.back() == '\'' || w.back() == ')' || w.back() == ']')) {
    w.remove_suffix(1);
  }
  if (w.empty()) return false;
  const char c = w.back();
  if (c == '!' || c == '?') return true;
  if (c != '.') return false;
  // "e.g." / "i.e." / a lone initial "J." are rarely sentence ends.
  if (w.size() <= 2) return false;
  return w.find('.') == w.size() - 1 || w.size() > 5;
}

// The start of the UTF-8 character containing byte `i` (never past `limit`).
size_t CharBoundary(std::string_view text, size_t i, size_t limit) {
  while (i > limit && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

std::vector<Word> SplitWords(std::string_view text, size_t max_word_bytes) {
  std::vector<Word> words;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    while (i < n && IsSpace(static_cast<unsigned char>(text[i]))) {
      // Two newlines (with only spaces between) close a paragraph.
      if (text[i] == '\n' && !words.empty()) {
        size_t j = i + 1;
        while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
        if (j < n && text[j] == '\n') words.back().paragraph_end = true;
      }
      ++i;
    }
    if (i >= n) break;
    size_t end = i;
    while (end < n && !IsSpace(static_cast<unsigned char>(text[end]))) ++end;
    // Long runs become several words, cut on character boundaries.
    size_t piece = i;
    while (end - piece > max_word_bytes) {
      size_t cut = CharBoundary(text, piece + max_word_bytes, piece + 1);
      if (cut <= piece) cut = piece + max_word_bytes;  // not UTF-8: cut anywhere
      words.push_back({piece, cut, false, false});
      piece = cut;
    }
    Word w{piece, end, false, false};
    w.sentence_end = EndsSentence(text.substr(piece, end - piece));
    words.push_back(w);
    i = end;
  }
  if (!words.empty()) words.back().paragraph_end = true;
  return words;
}

}  // namespace

std::vector<Chunk> ChunkText(std::string_view text, const ChunkerOptions& options) {
  const int target = std::max(1, options.target_words);
  const int overlap = std::clamp(options.overlap_words, 0, target - 1);
  const std::vector<Word> words = SplitWords(text, std::max<size_t>(8, options.max_word_bytes));
  std::vector<Chunk> chunks;
  const int total = static_cast<int>(words.size());
  int start = 0;
  while (start < total) {
    int last = std::min(total, start + target) - 1;  // inclusive
    if (last < total - 1) {
      // Prefer a paragraph end, then a sentence end, in the back 40% of the window; otherwise cut
      // at the window's end.
      const int earliest = start + std::max(1, target * 3 / 5) - 1;
      int best = -1;
      for (int i = last; i >= earliest && best < 0; --i) {
        if (words[static_cast<size_t>(i)].paragraph_end) best = i;
      }
      for (int i = last; i >= earliest && best < 0; --i) {
        if (words[static_cast<size_t>(i)].sentence_end) best = i;
      }
      if (best >= 0) last = best;
    }
    Chunk chunk;
    chunk.start = words[static_cast<size_t>(start)].begin;
    chunk.end = words[static_cast<size_t>(last)].end;
    chunk.words = last - start + 1;
    chunk.text = std::string(text.substr(chunk.start, chunk.end - chunk.start));
    chunks.push_back(std::move(chunk));
    if (last == total - 1) break;
    // The next chunk starts `overlap` words back, moved forward to a sentence start if one lies
    // within the overlap, and always after this chunk's start.
    int next = std::max(start + 1, last + 1 - overlap);
    for (int i = next; i <= last; ++i) {
      if (i > 0 && words[static_cast<size_t>(i - 1)].sentence_end) {
        next = i;
        break;
      }
    }
    start = next;
  }
  return chunks;
}

}  // namespace steward::memory
