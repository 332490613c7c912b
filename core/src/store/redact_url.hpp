#pragma once
// Connection strings carry passwords; every log line and error message that names a database goes
// through RedactUrl first.

#include <string>
#include <string_view>

namespace steward::store {

// Returns `url` with any password replaced by "***". Handles libpq URIs
// (postgresql://user:secret@host/db?password=secret) and key=value conninfo strings
// (host=h password='se cret'). Anything else is returned unchanged. Thread-safe, pure.
[[nodiscard]] std::string RedactUrl(std::string_view url);

// Returns `text` (typically a libpq error message, which may echo parts of the connection
// string) with every occurrence of `url`'s password replaced by "***". Thread-safe, pure.
[[nodiscard]] std::string RedactPasswordIn(std::string_view text, std::string_view url);

}  // namespace steward::store
