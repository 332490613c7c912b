#pragma once
// UTF-8 validity, for encoders whose readers reject malformed text (Prometheus label values,
// protobuf string fields). Span attributes may hold any bytes, e.g. output cut mid-character.

#include <cstddef>
#include <string>
#include <string_view>

namespace steward::telemetry {

// Length of the well-formed UTF-8 sequence starting at s[i] (1 to 4), or 0 when there is none:
// a stray continuation byte, a truncated sequence, an overlong form, a surrogate or > U+10FFFF.
[[nodiscard]] size_t Utf8SequenceLength(std::string_view s, size_t i);

// Appends `text` to `out` with each byte that starts no well-formed sequence replaced by U+FFFD.
void AppendValidUtf8(std::string_view text, std::string& out);

// True iff `text` is well-formed UTF-8.
[[nodiscard]] bool IsValidUtf8(std::string_view text);

}  // namespace steward::telemetry
