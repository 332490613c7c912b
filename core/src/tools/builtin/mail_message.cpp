#include "tools/builtin/mail_message.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

#include "tools/glob.hpp"

namespace steward::tools::builtin {

namespace {

constexpr size_t kMaxAddressBytes = 254;  // RFC 5321 path limit
constexpr size_t kEncodedChunkBytes = 45;  // 60 base64 chars: "=?UTF-8?B?" + 60 + "?=" = 72
constexpr size_t kFoldWidth = 76;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool IsAtext(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+/=?^_`{|}~-").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

Status CheckAddress(std::string_view address) {
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"" + std::string(address) + "\" is not a usable email address: " + why);
  };
  if (address.size() > kMaxAddressBytes) return fail("longer than 254 characters");
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return fail("expected local@domain");
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.size() > 64) return fail("the part before @ is longer than 64 characters");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return fail("dots must separate words before the @");
  }
  for (unsigned char c : local) {
    if (c != '.' && !IsAtext(c)) return fail("unexpected character before the @");
  }
  size_t label = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63) return fail("the domain must be dot-separated labels");
      if (domain[i - 1] == '-' || domain[i - label] == '-') return fail("a domain label starts or ends with '-'");
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(domain[i]);
    if (!std::isalnum(c) && c != '-') return fail("unexpected character in the domain");
    ++label;
  }
  return Status::Ok();
}

bool NeedsEncoding(std::string_view text) {
  if (text.find("=?") != std::string_view::npos) return true;
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E; });
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Bodies are stored with \n or \r\n; the wire wants CRLF and nothing else.
std::string ToCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

// "Name: a, b, c" folded before a list item that would pass kFoldWidth.
std::string AddressHeader(std::string_view name, const std::vector<Mailbox>& boxes) {
  std::string out = std::string(name) + ": ";
  size_t line = out.size();
  for (size_t i = 0; i < boxes.size(); ++i) {
    std::string item = FormatMailbox(boxes[i]) + (i + 1 < boxes.size() ? "," : "");
    if (i > 0) {
      if (line + 1 + item.size() > kFoldWidth) {
        out += "\r\n ";
        line = 1;
      } else {
        out += ' ';
        ++line;
      }
    }
    out += item;
    line += item.size();
  }
  return out + "\r\n";
}

}  // namespace

Result<Mailbox> ParseMailbox(std::string_view text) {
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "an email address may not contain line breaks");
  }
  Mailbox box;
  const std::string trimmed = Trim(text);
  const size_t open = trimmed.find('<');
  if (open != std::string::npos) {
    const size_t close = trimmed.find('>', open);
    if (close == std::string::npos || close + 1 != trimmed.size() ||
        trimmed.find('<', open + 1) != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "\"" + trimmed + "\" is not a usable email address: expected Name <local@domain>");
    }
    box.display = Trim(std::string_view(trimmed).substr(0, open));
    if (box.display.size() >= 2 && box.display.front() == '"' && box.display.back() == '"') {
      box.display = box.display.substr(1, box.display.size() - 2);
    }
    if (box.display.find_first_of("<>\"") != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "\"" + trimmed + "\": the display name may not contain <, > or quotes");
    }
    box.address = trimmed.substr(open + 1, close - open - 1);
  } else {
    box.address = trimmed;
  }
  STEWARD_RETURN_IF_ERROR(CheckAddress(box.address));
  return box;
}

bool RecipientAllowed(const std::vector<std::string>& globs, std::string_view address) {
  const std::string lower = Lower(address);
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return GlobMatch(Lower(g), lower); });
}

std::string EncodeHeaderText(std::string_view text) {
  if (!NeedsEncoding(text)) return std::string(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + kEncodedChunkBytes);
    // Back up to a character boundary: a word must hold whole characters (RFC 2047 section 5).
    while (end > i && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (end == i) end = std::min(text.size(), i + kEncodedChunkBytes);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string RfcDate(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&t, &utc);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return buf;
}

std::string Base64Lines(std::string_view data) {
  const std::string encoded = Base64(data);
  std::string out;
  for (size_t i = 0; i < encoded.size(); i += 76) {
    out += encoded.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

std::string NewMessageId(std::string_view domain) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return "<" + std::string(buf) + "@" + std::string(domain.empty() ? "steward.localhost" : domain) + ">";
}

std::string FormatMailbox(const Mailbox& box) {
  if (box.display.empty()) return box.address;
  std::string name;
  if (NeedsEncoding(box.display)) {
    name = EncodeHeaderText(box.display);
  } else if (box.display.find_first_of("()<>[]:;@\\,.\"") != std::string::npos) {
    name = "\"" + box.display + "\"";
  } else {
    name = box.display;
  }
  return name + " <" + box.address + ">";
}

std::string RenderMessage(const MailMessage& m, std::string_view boundary) {
  std::string out;
  out += "From: " + FormatMailbox(m.from) + "\r\n";
  out += AddressHeader("To", m.to);
  if (!m.cc.empty()) out += AddressHeader("Cc", m.cc);
  out += "Subject: " + EncodeHeaderText(m.subject) + "\r\n";
  out += "Date: " + RfcDate(m.date) + "\r\n";
  out += "Message-ID: " + m.message_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  const std::string text_part = "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: base64\r\n\r\n" +
                                Base64Lines(ToCrlf(m.text));
  if (m.html.empty()) {
    out += text_part;
    return out;
  }
  const std::string b(boundary);
  out += "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + b + "\r\n" + text_part;
  out += "--" + b + "\r\nContent-Type: text/html; charset=utf-8\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" + Base64Lines(ToCrlf(m.html));
  out += "--" + b + "--\r\n";
  return out;
}

}  // namespace steward::tools::builtin
