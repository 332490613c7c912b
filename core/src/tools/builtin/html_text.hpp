#pragma once
// Web pages as text a model (or a person) can read: tags, scripts and styles removed, entities
// decoded, whitespace collapsed, block structure kept as line breaks. Not a browser: no CSS, no
// JavaScript, no layout; good enough for articles, docs and news pages.

#include <string>
#include <string_view>

namespace steward::tools::builtin {

struct PageText {
  std::string title;  // the <title>, decoded and collapsed; may be empty
  std::string text;   // the readable body
};

// Converts an HTML document (UTF-8) to text. Drops comments, <script>, <style>, <noscript>,
// <template>, <svg>, <iframe>, <object> and <head> content (the title is kept separately);
// block elements and <br> become line breaks, list items "- " lines, table cells are separated
// by " | "; <pre> keeps its line breaks. At most one blank line in a row; no trailing spaces.
[[nodiscard]] PageText HtmlToText(std::string_view html);

// Decodes character references: named ones in common use (&amp; &nbsp; &mdash; ...), decimal
// and hex (&#233; &#xE9;; 128-159 as Windows-1252, as browsers do). Unknown names stay as
// written. &nbsp; becomes a plain space.
[[nodiscard]] std::string DecodeEntities(std::string_view text);

// Runs of spaces and tabs become one space, lines are trimmed, 3+ line breaks become 2, and the
// ends are trimmed.
[[nodiscard]] std::string CollapseWhitespace(std::string_view text);

// Valid UTF-8: each invalid byte becomes U+FFFD; NUL and control characters other than tab and
// line feed are dropped (carriage returns too).
[[nodiscard]] std::string SanitizeUtf8(std::string_view text);

// ISO-8859-1 bytes as UTF-8.
[[nodiscard]] std::string Latin1ToUtf8(std::string_view text);

// At most `max_bytes` of `text`, cut at a UTF-8 boundary (preferring a line or word break in the
// last fifth); `cut` is set when something was dropped.
[[nodiscard]] std::string CutText(std::string_view text, size_t max_bytes, bool* cut = nullptr);

}  // namespace steward::tools::builtin
