#pragma once
// Helpers shared by the text-based extractors (private to memory/ingest).

#include <string>
#include <string_view>

#include "memory/ingest/extractors.hpp"

namespace steward::memory::ingest::detail {

struct DecodedInput {
  std::string text;  // UTF-8
};

// Decodes `bytes` (see DecodeText) and records a non-UTF-8 encoding in doc.extra/doc.notes.
[[nodiscard]] DecodedInput DecodeInput(std::string_view bytes, const ExtractOptions& options,
                                       ExtractedDocument& doc);

}  // namespace steward::memory::ingest::detail
