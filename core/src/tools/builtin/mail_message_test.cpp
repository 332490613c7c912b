#include "tools/builtin/mail_message.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "tools/builtin/html_text.hpp"

namespace steward::tools::builtin {
namespace {

using namespace std::chrono_literals;

// Decodes the "=?UTF-8?B?...?=" words of an encoded header (test helper, not RFC-complete).
std::string DecodeWords(const std::string& header) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t pos = 0;
  while ((pos = header.find("=?UTF-8?B?", pos)) != std::string::npos) {
    const size_t start = pos + 10;
    const size_t end = header.find("?=", start);
    uint32_t buffer = 0;
    int bits = 0;
    for (size_t i = start; i < end; ++i) {
      if (header[i] == '=') break;
      buffer = (buffer << 6) | static_cast<uint32_t>(kAlphabet.find(header[i]));
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((buffer >> bits) & 0xFF);
      }
    }
    pos = end + 2;
  }
  return out;
}

TEST(EncodeHeaderText, LeavesPrintableAsciiAlone) {
  EXPECT_EQ(EncodeHeaderText("Weekly digest: 5 stories"), "Weekly digest: 5 stories");
  EXPECT_EQ(EncodeHeaderText(""), "");
}

TEST(EncodeHeaderText, EncodesNonAsciiAsUtf8Base64Words) {
  const std::string encoded = EncodeHeaderText("Caf\u00e9 \u2615");
  EXPECT_EQ(encoded, "=?UTF-8?B?Q2Fmw6kg4piV?=");
  EXPECT_EQ(DecodeWords(encoded), "Caf\u00e9 \u2615");
}

TEST(EncodeHeaderText, EncodesTextThatLooksLikeAnEncodedWordOrHasControls) {
  EXPECT_EQ(DecodeWords(EncodeHeaderText("=?UTF-8?B?eA==?=")), "=?UTF-8?B?eA==?=");
  EXPECT_NE(EncodeHeaderText("a\tb").find("=?UTF-8?B?"), std::string::npos);
}

TEST(EncodeHeaderText, SplitsLongTextIntoShortWordsOnCharacterBoundaries) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "\u00fc\u4e2d";  // 2- and 3-byte characters
  const std::string encoded = EncodeHeaderText(subject);
  size_t start = 0;
  int words = 0;
  while (start < encoded.size()) {
    size_t end = encoded.find("\r\n ", start);
    const std::string word = encoded.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    // Each word decodes to whole characters on its own.
    const std::string decoded = DecodeWords(word);
    EXPECT_EQ(SanitizeUtf8(decoded), decoded);
    ++words;
    if (end == std::string::npos) break;
    start = end + 3;
  }
  EXPECT_GT(words, 1);
  EXPECT_EQ(DecodeWords(encoded), subject);
}

TEST(ParseMailbox, AcceptsBareAndNamedAddresses) {
  auto bare = ParseMailbox("  ana@example.com ");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->address, "ana@example.com");
  EXPECT_EQ(bare->display, "");
  auto named = ParseMailbox("\"Ana Lima\" <ana.lima+news@mail.example.org>");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->display, "Ana Lima");
  EXPECT_EQ(named->address, "ana.lima+news@mail.example.org");
}

TEST(ParseMailbox, RefusesHeaderAndCommandInjection) {
  for (const char* bad :
       {"ana@example.com\r\nBcc: evil@x.org", "ana@example.com\nRCPT TO:<x@y.z>", "ana@example.com, bob@example.com",
        "<ana@example.com> <bob@example.com>", "Ana <ana@example.com", "ana", "@example.com", "ana@",
        "ana@exa mple.com", "ana@-example.com", "ana@example..com", ".ana@example.com",
        "\"quoted\"@example.com", "ana@example.com>"}) {
    EXPECT_FALSE(ParseMailbox(bad).ok()) << bad;
  }
}

TEST(RecipientAllowed, MatchesGlobsCaseInsensitively) {
  const std::vector<std::string> globs = {"*@example.com", "me@x.org"};
  EXPECT_TRUE(RecipientAllowed(globs, "ana@example.com"));
  EXPECT_TRUE(RecipientAllowed(globs, "Ana@EXAMPLE.com"));
  EXPECT_TRUE(RecipientAllowed(globs, "me@x.org"));
  EXPECT_FALSE(RecipientAllowed(globs, "you@x.org"));
  EXPECT_FALSE(RecipientAllowed(globs, "ana@example.com.evil.org"));
  EXPECT_FALSE(RecipientAllowed(globs, "ana@sub.example.co"));
  EXPECT_FALSE(RecipientAllowed({}, "ana@example.com"));
  EXPECT_TRUE(RecipientAllowed({"*@*.example.com"}, "ana@mail.example.com"));
  EXPECT_FALSE(RecipientAllowed({"*@*.example.com"}, "ana@example.com"));
}

TEST(RfcDate, FormatsUtc) {
  // 2024-11-26 06:19:05 UTC was a Tuesday.
  const auto t = std::chrono::sys_days{std::chrono::year{2024} / 11 / 26} + 6h + 19min + 5s;
  EXPECT_EQ(RfcDate(t), "Tue, 26 Nov 2024 06:19:05 +0000");
}

TEST(RenderMessage, WritesHeadersAndBase64PlainBody) {
  MailMessage m;
  m.from = {"Steward", "steward@example.com"};
  m.to = {{"", "ana@example.com"}, {"Bob B.", "bob@example.com"}};
  m.subject = "R\u00e9sum\u00e9";
  m.text = "line one\nline two\n";
  m.message_id = "<abc@example.com>";
  m.date = std::chrono::sys_days{std::chrono::year{2024} / 1 / 1};
  const std::string out = RenderMessage(m, "unused");
  EXPECT_NE(out.find("From: Steward <steward@example.com>\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("To: ana@example.com, \"Bob B.\" <bob@example.com>\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Cc:"), std::string::npos);
  EXPECT_NE(out.find("Subject: =?UTF-8?B?UsOpc3Vtw6k=?=\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(out.find("Message-ID: <abc@example.com>\r\n"), std::string::npos);
  EXPECT_NE(out.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                     "bGluZSBvbmUNCmxpbmUgdHdvDQo=\r\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find('\n', 0), out.find("\r\n") + 1);  // CRLF line endings
}

TEST(RenderMessage, HtmlMakesMultipartAlternative) {
  MailMessage m;
  m.from = {"", "steward@example.com"};
  m.to = {{"", "ana@example.com"}};
  m.cc = {{"", "cc@example.com"}};
  m.subject = "Hi";
  m.text = "plain";
  m.html = "<p>rich</p>";
  m.message_id = "<id@example.com>";
  const std::string out = RenderMessage(m, "=_b1");
  EXPECT_NE(out.find("Cc: cc@example.com\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Type: multipart/alternative; boundary=\"=_b1\"\r\n"), std::string::npos);
  const size_t text_part = out.find("--=_b1\r\nContent-Type: text/plain; charset=utf-8");
  const size_t html_part = out.find("--=_b1\r\nContent-Type: text/html; charset=utf-8");
  ASSERT_NE(text_part, std::string::npos) << out;
  ASSERT_NE(html_part, std::string::npos) << out;
  EXPECT_LT(text_part, html_part);  // the preferred (richer) part comes last
  EXPECT_NE(out.find("--=_b1--\r\n"), std::string::npos);
}

TEST(NewMessageId, IsUniqueAndBracketed) {
  const std::string a = NewMessageId("example.com"), b = NewMessageId("example.com");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.front(), '<');
  EXPECT_NE(a.find("@example.com>"), std::string::npos);
}

}  // namespace
}  // namespace steward::tools::builtin
