#pragma once
// Internet messages as email.send writes them (RFC 5322 headers, RFC 2047 encoded words, MIME
// with base64 bodies), plus the address checks that keep a model from smuggling headers or
// recipients. Pure functions: no network, no clock unless given one.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace steward::tools::builtin {

struct Mailbox {
  std::string display;  // may be empty
  std::string address;  // local@domain
};

// Parses "local@domain" or "Display Name <local@domain>". Refuses what could break a header or
// an SMTP command (CR, LF, NUL, commas and angle brackets outside the one pair), quoted local
// parts, and domains that are not dot-separated labels of letters, digits and '-'.
// Errors: kInvalidArgument saying what is wrong.
[[nodiscard]] Result<Mailbox> ParseMailbox(std::string_view text);

// True iff `address` matches one of `globs` (tools::GlobMatch, '*' and '?'), compared
// case-insensitively. An empty list allows nothing.
[[nodiscard]] bool RecipientAllowed(const std::vector<std::string>& globs, std::string_view address);

// A header value as RFC 2047 encoded words ("=?UTF-8?B?...?=", each at most 75 characters,
// folded with CRLF SP) when it holds anything but printable ASCII or looks like an encoded word
// itself; otherwise unchanged. Never splits a UTF-8 sequence across words.
[[nodiscard]] std::string EncodeHeaderText(std::string_view text);

// "Tue, 26 Nov 2024 06:19:00 +0000" (RFC 5322 date-time, UTC).
[[nodiscard]] std::string RfcDate(std::chrono::system_clock::time_point when);

// Base64 of `data`, lines of 76 characters separated by CRLF.
[[nodiscard]] std::string Base64Lines(std::string_view data);

// "<32 random hex digits@domain>".
[[nodiscard]] std::string NewMessageId(std::string_view domain);

struct MailMessage {
  Mailbox from;
  std::vector<Mailbox> to;
  std::vector<Mailbox> cc;
  std::string subject;  // UTF-8, no line breaks
  std::string text;     // the text/plain body, UTF-8
  std::string html;     // optional: makes the message multipart/alternative
  std::string message_id;  // with angle brackets
  std::chrono::system_clock::time_point date;
};

// The message as sent over SMTP: CRLF line endings, headers From, To, Cc (when any), Subject,
// Date, Message-ID, MIME-Version and Content-Type (text/plain; charset=utf-8, or
// multipart/alternative with `boundary` around a text and an html part), base64 bodies.
[[nodiscard]] std::string RenderMessage(const MailMessage& message, std::string_view boundary);

// "Name <a@b>" (display encoded or quoted as needed) or "a@b".
[[nodiscard]] std::string FormatMailbox(const Mailbox& mailbox);

}  // namespace steward::tools::builtin
