#include "tools/builtin/html_text.hpp"

#include <gtest/gtest.h>

namespace steward::tools::builtin {
namespace {

TEST(HtmlToText, KeepsTitleAndReadableBodyWithoutScriptsOrStyles) {
  const PageText page = HtmlToText(R"(<!DOCTYPE html>
<html><head>
  <meta charset="utf-8"><title> Steward &amp; MCP
  </title>
  <style>body { color: red; } p > a { x: "</p>" }</style>
  <script>var s = "<p>not text</p>"; if (a < b) alert(1);</script>
</head>
<body>
  <!-- a comment with <p>markup</p> -->
  <h1>Hello,   world</h1>
  <p>First  paragraph
     spans lines.</p><p>Second&nbsp;paragraph &mdash; with <a href="/x?a=1&amp;b=2" title="a > b">a link</a>.</p>
  <noscript>Enable JavaScript</noscript>
  <SCRIPT type="module">console.log("upper case tags too")</SCRIPT>
</body></html>)");
  EXPECT_EQ(page.title, "Steward & MCP");
  EXPECT_EQ(page.text,
            "Hello, world\n\nFirst paragraph spans lines.\n\nSecond paragraph \u2014 with a link.");
}

TEST(HtmlToText, RendersListsTablesBreaksAndPre) {
  const PageText page = HtmlToText(
      "<ul><li>one</li><li>two</li></ul>line<br>break"
      "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
      "<pre>x  =  1\ny = 2</pre>");
  EXPECT_EQ(page.text, "- one\n- two\nline\nbreak\n\na | b\n1 | 2\n\nx = 1\ny = 2");
}

TEST(HtmlToText, SurvivesUnclosedAndBrokenMarkup) {
  EXPECT_EQ(HtmlToText("a < b and 1<2 <p>end").text, "a < b and 1<2\n\nend");
  EXPECT_EQ(HtmlToText("<script>never closed").text, "");
  EXPECT_EQ(HtmlToText("<p>text<!-- unterminated").text, "text");
  EXPECT_EQ(HtmlToText("<title>only a title").title, "only a title");
  EXPECT_EQ(HtmlToText("").text, "");
}

TEST(HtmlToText, IgnoresTitlesInsideSvgAndKeepsTheFirst) {
  const PageText page = HtmlToText(
      "<title>Page</title><svg><title>icon</title></svg><title>Second</title><p>body</p>");
  EXPECT_EQ(page.title, "Page");
  EXPECT_EQ(page.text, "body");
}

TEST(DecodeEntities, DecodesNamedNumericAndLegacyReferences) {
  EXPECT_EQ(DecodeEntities("&lt;b&gt; &quot;q&quot; &#39;s&#x27;"), "<b> \"q\" 's'");
  EXPECT_EQ(DecodeEntities("caf&eacute; &#233; &#xE9; &euro;5"), "caf\u00e9 \u00e9 \u00e9 \u20ac5");
  EXPECT_EQ(DecodeEntities("&#150; &#8212;"), "\u2013 \u2014");  // 150 is Windows-1252
  EXPECT_EQ(DecodeEntities("AT&T &unknown; &amp"), "AT&T &unknown; &");
  EXPECT_EQ(DecodeEntities("&#0; &#xD800; &#x110000;"), "\uFFFD \uFFFD \uFFFD");
  EXPECT_EQ(DecodeEntities("soft&shy;hyphen"), "softhyphen");
}

TEST(CollapseWhitespace, TrimsLinesAndLimitsBlankLines) {
  EXPECT_EQ(CollapseWhitespace("  a \t b  \n\n\n\n  c  \n"), "a b\n\nc");
  EXPECT_EQ(CollapseWhitespace(" \n \n "), "");
}

TEST(SanitizeUtf8, ReplacesInvalidBytesAndDropsControls) {
  EXPECT_EQ(SanitizeUtf8("ok \xC3\xA9"), "ok \u00e9");
  EXPECT_EQ(SanitizeUtf8("bad \xC3 x"), "bad \uFFFD x");
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\uFFFD\uFFFD");          // overlong '/'
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // a surrogate
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b\r\nc\x7f", 7)), "ab\nc");
}

TEST(Latin1ToUtf8, MapsHighBytes) { EXPECT_EQ(Latin1ToUtf8("caf\xE9"), "caf\u00e9"); }

TEST(CutText, CutsAtBoundariesAndReportsIt) {
  bool cut = true;
  EXPECT_EQ(CutText("short", 10, &cut), "short");
  EXPECT_FALSE(cut);
  EXPECT_EQ(CutText("one two three four", 15, &cut), "one two three");
  EXPECT_TRUE(cut);
  EXPECT_EQ(CutText("\u00e9\u00e9\u00e9", 3, &cut), "\u00e9");  // never half a character
}

}  // namespace
}  // namespace steward::tools::builtin
