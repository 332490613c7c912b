#include "memory/ingest/extractors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memory/ingest/testing/document_builders.hpp"
#include "memory/ingest/zip_reader.hpp"

namespace steward::memory::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ExtractedDocument MustExtract(Format format, std::string_view bytes, ExtractOptions options = {}) {
  auto doc = Extract(format, bytes, options);
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().ToString());
  return doc.ok() ? std::move(doc).value() : ExtractedDocument{};
}

// --- formats ---------------------------------------------------------------------------------

TEST(FormatFromPath, KnowsTheSupportedExtensionsCaseInsensitively) {
  EXPECT_EQ(FormatFromPath("/a/notes.MD"), Format::kMarkdown);
  EXPECT_EQ(FormatFromPath("/a/b.txt"), Format::kText);
  EXPECT_EQ(FormatFromPath("/a/page.htm"), Format::kHtml);
  EXPECT_EQ(FormatFromPath("/a/r.PDF"), Format::kPdf);
  EXPECT_EQ(FormatFromPath("/a/r.docx"), Format::kDocx);
  EXPECT_EQ(FormatFromPath("/a/t.tsv"), Format::kCsv);
  EXPECT_EQ(FormatFromPath("/a/d.json"), Format::kJson);
  EXPECT_EQ(FormatFromPath("/a/photo.png"), Format::kUnknown);
  EXPECT_EQ(FormatFromPath("/a/.md"), Format::kUnknown);  // a hidden file, not an extension
}

TEST(SniffFormat, MagicBytesWinOverTheName) {
  EXPECT_EQ(SniffFormat(Format::kText, "%PDF-1.7"), Format::kPdf);
  EXPECT_EQ(SniffFormat(Format::kUnknown, std::string("PK\x03\x04", 4)), Format::kDocx);
  EXPECT_EQ(SniffFormat(Format::kMarkdown, "# hi"), Format::kMarkdown);
}

// --- text and markdown -------------------------------------------------------------------------

TEST(ExtractPlainText, NotesAWindows1252File) {
  const ExtractedDocument doc = MustExtract(Format::kText, "Cr\xE8me br\xFBl\xE9\x65 recipe");
  EXPECT_EQ(doc.text, "Cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e recipe");
  EXPECT_EQ(doc.extra.value("encoding", ""), "windows-1252");
  ASSERT_EQ(doc.notes.size(), 1u);
  EXPECT_THAT(doc.notes[0], HasSubstr("Windows-1252"));
}

TEST(ExtractPlainText, RefusesBinaryContent) {
  auto doc = Extract(Format::kText, std::string("\x7F" "ELF\0\0\0", 7), {});
  ASSERT_FALSE(doc.ok());
  EXPECT_THAT(doc.error().message, HasSubstr("binary"));
}

TEST(Extract, CapsTextAndSaysSo) {
  const std::string line(100000, 'x');  // one huge line
  ExtractOptions options;
  options.max_text_bytes = 1000;
  const ExtractedDocument doc = MustExtract(Format::kText, line, options);
  EXPECT_EQ(doc.text.size(), 1000u);
  EXPECT_TRUE(doc.extra.value("truncated", false));
  ASSERT_FALSE(doc.notes.empty());
  EXPECT_THAT(doc.notes.back(), HasSubstr("truncated"));
}

TEST(Extract, APrefixOfALongerFileIsMarkedTruncated) {
  ExtractOptions options;
  options.input_was_cut = true;
  const ExtractedDocument doc = MustExtract(Format::kText, "the first part", options);
  EXPECT_TRUE(doc.extra.value("truncated", false));
}

TEST(ExtractMarkdown, TitleFromFrontMatterElseFirstHeading) {
  const ExtractedDocument fm = MustExtract(
      Format::kMarkdown, "---\ntitle: \"Trip plan\"\nauthor: Ada\ndate: 2024-03-01\n---\n# Heading\nBody text.\n");
  EXPECT_EQ(fm.title, "Trip plan");
  EXPECT_EQ(fm.author, "Ada");
  EXPECT_EQ(fm.created, "2024-03-01");
  EXPECT_THAT(fm.text, Not(HasSubstr("author:")));
  EXPECT_THAT(fm.text, HasSubstr("Body text."));

  const ExtractedDocument h = MustExtract(Format::kMarkdown, "Intro line\n\n# The Real Title\n\nMore.");
  EXPECT_EQ(h.title, "The Real Title");
}

// --- HTML ----------------------------------------------------------------------------------------

TEST(ExtractHtml, StripsTagsScriptsAndDecodesEntities) {
  const std::string html =
      "<!DOCTYPE html><html><head><title>Quarterly &amp; Annual</title>"
      "<meta name=\"author\" content=\"Grace Hopper\">"
      "<meta property=\"article:published_time\" content=\"2023-11-05T10:00:00Z\">"
      "<style>body { color: red }</style><script>var secret = 1;</script></head>"
      "<body><h1>Report</h1><p>Revenue grew&nbsp;12%&mdash;mostly <b>abroad</b>.</p>"
      "<ul><li>one</li><li>two</li></ul><!-- hidden comment --></body></html>";
  const ExtractedDocument doc = MustExtract(Format::kHtml, html);
  EXPECT_EQ(doc.title, "Quarterly & Annual");
  EXPECT_EQ(doc.author, "Grace Hopper");
  EXPECT_EQ(doc.created, "2023-11-05T10:00:00Z");
  EXPECT_THAT(doc.text, HasSubstr("Revenue grew\xC2\xA0" "12%\xE2\x80\x94mostly abroad."));
  EXPECT_THAT(doc.text, HasSubstr("one\ntwo"));
  EXPECT_THAT(doc.text, Not(HasSubstr("secret")));
  EXPECT_THAT(doc.text, Not(HasSubstr("color")));
  EXPECT_THAT(doc.text, Not(HasSubstr("hidden comment")));
  EXPECT_THAT(doc.text, Not(HasSubstr("<")));
}

TEST(ExtractHtml, TitleFallsBackToTheFirstH1) {
  const ExtractedDocument doc = MustExtract(Format::kHtml, "<p>x</p><h1>Main <em>Topic</em></h1><p>y &lt; z</p>");
  EXPECT_EQ(doc.title, "Main Topic");
  EXPECT_THAT(doc.text, HasSubstr("y < z"));
}

TEST(ExtractHtml, AnUnclosedHeadStillYieldsTheBody) {
  const ExtractedDocument doc = MustExtract(Format::kHtml, "<html><head><title>T</title><div>body words</div>");
  EXPECT_EQ(doc.title, "T");
  EXPECT_THAT(doc.text, HasSubstr("body words"));
}

// --- CSV -------------------------------------------------------------------------------------------

TEST(ExtractCsv, RendersRowsAsColumnValueLinesUnderADetectedHeader) {
  const ExtractedDocument doc =
      MustExtract(Format::kCsv, "name,city,amount\nAlice,Paris,12.5\n\"Bob, Jr.\",\"New\nYork\",7\n");
  EXPECT_EQ(doc.text, "name: Alice\ncity: Paris\namount: 12.5\n\nname: Bob, Jr.\ncity: New\nYork\namount: 7");
  EXPECT_TRUE(doc.extra.value("header", false));
  EXPECT_EQ(doc.extra.value("rows", 0), 2);
  EXPECT_EQ(doc.extra.value("columns", 0), 3);
}

TEST(ExtractCsv, NumericFirstRowIsDataAndSemicolonsAreDetected) {
  const ExtractedDocument doc = MustExtract(Format::kCsv, "1;2;3\n4;5;6\n");
  EXPECT_FALSE(doc.extra.value("header", true));
  EXPECT_THAT(doc.text, HasSubstr("column 1: 1\ncolumn 2: 2\ncolumn 3: 3"));
  EXPECT_EQ(doc.extra.value("rows", 0), 2);
}

TEST(ExtractCsv, DoubledQuotesAndEmptyCells) {
  const ExtractedDocument doc = MustExtract(Format::kCsv, "a,b\n\"say \"\"hi\"\"\",\n");
  EXPECT_EQ(doc.text, "a: say \"hi\"");
}

// --- JSON -------------------------------------------------------------------------------------------

TEST(ExtractJson, FlattensKeyPathsAndReadsTitle) {
  const ExtractedDocument doc = MustExtract(
      Format::kJson, R"({"title": "Inventory", "author": {"name": "Lin"}, "items": [{"sku": "A1", "qty": 3}], "ok": true})");
  EXPECT_EQ(doc.title, "Inventory");
  EXPECT_EQ(doc.author, "Lin");
  EXPECT_THAT(doc.text, HasSubstr("items[0].sku: A1"));
  EXPECT_THAT(doc.text, HasSubstr("items[0].qty: 3"));
  EXPECT_THAT(doc.text, HasSubstr("ok: true"));
  EXPECT_THAT(doc.text, HasSubstr("author.name: Lin"));
}

TEST(ExtractJson, InvalidJsonSaysWhere) {
  auto doc = Extract(Format::kJson, "{\"a\": [1, 2,\n", {});
  ASSERT_FALSE(doc.ok());
  EXPECT_THAT(doc.error().message, HasSubstr("invalid JSON"));
  EXPECT_THAT(doc.error().message, HasSubstr("line"));
}

// --- PDF ---------------------------------------------------------------------------------------------

TEST(ExtractPdf, ReadsTheTextLayerPageByPageAndTheInfoDictionary) {
  const std::string pdf = testing::BuildPdf({{"Zebra migration report", "Page one body."}, {"Second page: giraffes."}},
                                            "Field Notes", "Dian Fossey", "D:20210304050607Z");
  const ExtractedDocument doc = MustExtract(Format::kPdf, pdf);
  EXPECT_EQ(doc.title, "Field Notes");
  EXPECT_EQ(doc.author, "Dian Fossey");
  EXPECT_EQ(doc.created, "2021-03-04T05:06:07Z");
  EXPECT_EQ(doc.extra.value("pages", 0), 2);
  EXPECT_THAT(doc.text, HasSubstr("Zebra migration report"));
  EXPECT_THAT(doc.text, HasSubstr("giraffes"));
  EXPECT_LT(doc.text.find("Zebra"), doc.text.find("giraffes"));
}

TEST(ExtractPdf, ACorruptPdfIsAnErrorNotACrash) {
  std::string pdf = testing::BuildPdf({{"hello"}});
  pdf.resize(pdf.size() / 3);  // cut in the middle of the objects: no xref, no trailer
  pdf += "garbage\x01\x02";
  auto doc = Extract(Format::kPdf, pdf, {});
  if (doc.ok()) {
    // Poppler may reconstruct a damaged file; then it must at least not invent text.
    EXPECT_THAT(doc->text, Not(HasSubstr("garbage")));
  } else {
    EXPECT_THAT(doc.error().message, HasSubstr("PDF"));
  }
  auto junk = Extract(Format::kPdf, "%PDF-1.4\nthis is not a pdf at all", {});
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.error().message, HasSubstr("damaged PDF"));
  auto not_pdf = Extract(Format::kPdf, "plain text", {});
  ASSERT_FALSE(not_pdf.ok());
  EXPECT_THAT(not_pdf.error().message, HasSubstr("not a PDF"));
}

// --- DOCX ---------------------------------------------------------------------------------------------

TEST(ExtractDocx, ReadsParagraphRunsAndCoreProperties) {
  const std::string docx = testing::BuildDocx({"Budget 2024", "Travel costs rose &amp; fell.", "Second paragraph"},
                                              "Budget memo", "Ada Lovelace", "2024-01-02T03:04:05Z");
  const ExtractedDocument doc = MustExtract(Format::kDocx, docx);
  EXPECT_EQ(doc.title, "Budget memo");
  EXPECT_EQ(doc.author, "Ada Lovelace");
  EXPECT_EQ(doc.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(doc.text, "Budget 2024\nTravel costs rose & fell.\nSecond paragraph");
}

TEST(ExtractDocx, TitleFallsBackToATitleStyledParagraph) {
  const std::string docx = testing::BuildDocx({"Styled Title", "body"}, "", "", "", /*first_is_title=*/true);
  EXPECT_EQ(MustExtract(Format::kDocx, docx).title, "Styled Title");
}

TEST(ExtractDocx, AZipWithoutDocumentXmlOrACutArchiveIsReported) {
  auto xlsx = Extract(Format::kDocx, testing::BuildZip({{"xl/workbook.xml", "<x/>"}}), {});
  ASSERT_FALSE(xlsx.ok());
  EXPECT_THAT(xlsx.error().message, HasSubstr("word/document.xml"));
  std::string cut = testing::BuildDocx({"text"}, "t", "a", "");
  cut.resize(cut.size() - 30);
  auto damaged = Extract(Format::kDocx, cut, {});
  ASSERT_FALSE(damaged.ok());
  EXPECT_THAT(damaged.error().message, HasSubstr("DOCX"));
}

// --- zip -------------------------------------------------------------------------------------------------

TEST(ZipArchive, ReadsStoredAndDeflatedMembersAndChecksCrc) {
  for (const bool deflated : {false, true}) {
    const std::string zip = testing::BuildZip({{"a.txt", "alpha"}, {"dir/b.txt", std::string(5000, 'b')}}, deflated);
    auto archive = ZipArchive::Open(zip);
    ASSERT_TRUE(archive.ok()) << archive.error().ToString();
    ASSERT_EQ(archive->entries().size(), 2u);
    auto b = archive->Read("dir/b.txt", 1 << 20);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    EXPECT_EQ(*b, std::string(5000, 'b'));
    EXPECT_EQ(archive->Read("missing", 100).error().code, ErrorCode::kNotFound);
  }
  std::string corrupt = testing::BuildZip({{"a.txt", "alpha"}}, false);
  corrupt[30 + 5] = 'X';  // first byte of the stored data
  auto archive = ZipArchive::Open(corrupt);
  ASSERT_TRUE(archive.ok());
  auto a = archive->Read("a.txt", 100);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.error().message, HasSubstr("CRC"));
}

TEST(ZipArchive, RefusesAMemberThatInflatesPastTheLimit) {
  const std::string zip = testing::BuildZip({{"bomb.xml", std::string(1 << 20, 'z')}});
  auto archive = ZipArchive::Open(zip);
  ASSERT_TRUE(archive.ok());
  auto bomb = archive->Read("bomb.xml", 1000);
  ASSERT_FALSE(bomb.ok());
  EXPECT_THAT(bomb.error().message, HasSubstr("limit"));
}

}  // namespace
}  // namespace steward::memory::ingest
