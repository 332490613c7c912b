#pragma once
// A forgiving scanner over HTML and XML text: tags and the text between them, without building
// a tree. Enough to pull text and a few metadata fields out of web pages and Office XML, which
// is all ingestion needs (private to memory/ingest).

#include <string>
#include <string_view>

namespace steward::memory::ingest::detail {

struct MarkupToken {
  enum class Kind { kText, kOpen, kClose, kSelfClosing, kOther };  // kOther: comments, <!DOCTYPE>, <?xml?>
  Kind kind = Kind::kText;
  std::string_view raw;   // the text, or the whole tag "<a href=…>"
  std::string name;       // tag name, lower-case for HTML (as written for XML); "" for text
};

// Iterates over `text`; a "<" that does not start a tag is text.
class MarkupScanner final {
 public:
  // `lower_names`: fold tag names to lower case (HTML is case-insensitive; XML is not).
  MarkupScanner(std::string_view text, bool lower_names) : text_(text), lower_(lower_names) {}

  // The next token; false at the end.
  bool Next(MarkupToken& token);

  // Skips to just after the closing tag </name> (for <script>, <style>); false if there is none.
  bool SkipPast(std::string_view close_name);

  // The raw text up to the closing tag </name>, consumed (for <title>, <dc:title>).
  std::string_view TextUntilClose(std::string_view close_name);

 private:
  std::string_view text_;
  size_t pos_ = 0;
  bool lower_;
};

// The value of attribute `name` (case-insensitive) in a tag's raw text, entities decoded; "" if absent.
[[nodiscard]] std::string Attribute(std::string_view raw_tag, std::string_view name);

}  // namespace steward::memory::ingest::detail
