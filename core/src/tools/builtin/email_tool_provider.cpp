#include "tools/builtin/email_tool_provider.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>

#include <pqxx/pqxx>

#include "tools/builtin/mail_message.hpp"
#include "tools/risk_policy.hpp"

namespace steward::tools::builtin {

namespace {

using nlohmann::json;

constexpr int kMaxRecipients = 50;
constexpr int kMaxBodyBytes = 1024 * 1024;
constexpr const char* kIsoUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

json AddressList(const char* description) {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"minLength", 3}, {"maxLength", 320}}},
          {"maxItems", kMaxRecipients},
          {"description", description}};
}

json MessageSchema() {
  json to = AddressList("Recipients: addresses (\"ana@example.com\") or \"Name <ana@example.com>\".");
  to["minItems"] = 1;
  return {{"type", "object"},
          {"properties",
           {{"to", to},
            {"cc", AddressList("Copy recipients, same form as to.")},
            {"subject", {{"type", "string"}, {"maxLength", 900}, {"description", "One line."}}},
            {"body", {{"type", "string"}, {"maxLength", kMaxBodyBytes}, {"description", "The plain-text message."}}},
            {"html",
             {{"type", "string"},
              {"maxLength", kMaxBodyBytes},
              {"description", "Optional HTML version; the plain body is still sent alongside it."}}},
            {"idempotency_key",
             {{"type", "string"},
              {"minLength", 1},
              {"maxLength", 200},
              {"description",
               "Optional. A send with a key that was already sent is not sent again; reuse the "
               "key when retrying the same message."}}}}},
          {"required", {"to", "subject", "body"}},
          {"additionalProperties", false}};
}

ToolInfo MakeTool(std::string name, std::string description, std::string activity) {
  ToolInfo info;
  info.name = "email." + name;
  info.server = "email";
  info.description = std::move(description);
  info.input_schema = MessageSchema();
  info.risk_tier = DefaultTier(info.name);
  info.activity = std::move(activity);
  return info;
}

std::string ArgString(const json& args, const char* key) {
  const auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Message {
  Mailbox from;
  std::vector<Mailbox> to;
  std::vector<Mailbox> cc;
  std::string subject;
  std::string body;
  std::string html;
  std::string key;
};

Result<std::vector<Mailbox>> Mailboxes(const json& args, const char* key) {
  std::vector<Mailbox> out;
  const auto it = args.find(key);
  if (it == args.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (!item.is_string()) continue;
    auto box = ParseMailbox(item.get<std::string>());
    if (!box.ok()) return MakeError(ErrorCode::kInvalidArgument, box.error().message, key);
    out.push_back(std::move(*box));
  }
  return out;
}

Result<Message> ReadMessage(const json& args, const EmailToolsConfig& config) {
  Message m;
  auto from = ParseMailbox(config.from);
  if (!from.ok()) return MakeError(ErrorCode::kConfig, from.error().message, "tools.email.from");
  m.from = std::move(*from);
  auto to = Mailboxes(args, "to");
  if (!to.ok()) return to.error();
  auto cc = Mailboxes(args, "cc");
  if (!cc.ok()) return cc.error();
  m.to = std::move(*to);
  m.cc = std::move(*cc);
  if (m.to.empty()) return MakeError(ErrorCode::kInvalidArgument, "at least one recipient is needed", "to");
  // A subject is one header line: line breaks would start new headers.
  m.subject = ArgString(args, "subject");
  std::replace_if(m.subject.begin(), m.subject.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  m.body = ArgString(args, "body");
  m.html = ArgString(args, "html");
  m.key = ArgString(args, "idempotency_key");
  return m;
}

std::vector<std::string> Refused(const Message& m, const EmailToolsConfig& config) {
  std::vector<std::string> refused;
  for (const auto* list : {&m.to, &m.cc}) {
    for (const auto& box : *list) {
      if (!RecipientAllowed(config.allow_recipients, box.address)) refused.push_back(box.address);
    }
  }
  return refused;
}

std::string Join(const std::vector<Mailbox>& boxes, const char* sep) {
  std::string out;
  for (const auto& b : boxes) out += (out.empty() ? "" : sep) + b.address;
  return out;
}

std::string JoinStrings(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string AllowedPhrase(const EmailToolsConfig& config) {
  return config.allow_recipients.empty() ? "none: tools.email.allow_recipients is empty"
                                         : JoinStrings(config.allow_recipients);
}

std::string UuidOrEmpty(const std::string& s) {
  // Run ids are uuids; anything else (tests, owner calls) is stored as NULL.
  return s.size() == 36 && s[8] == '-' && s[13] == '-' ? s : std::string();
}

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

struct Claim {
  int64_t id = 0;
  bool duplicate = false;
  std::string sent_at;
  std::string message_id;
  std::string to;
  std::string subject;
};

// Columns written for a message: $1 key, $2 status, $3 from, $4 to, $5 cc, $6 subject, $7 body,
// $8 html, $9 message id, $10 run id.
constexpr const char* kInsert =
    "INSERT INTO email_outbox (idempotency_key, status, from_addr, to_addrs, cc_addrs, subject, "
    "body, html, message_id, run_id) VALUES (NULLIF($1, ''), $2, $3, string_to_array($4, chr(10)), "
    "string_to_array($5, chr(10)), $6, $7, NULLIF($8, ''), NULLIF($9, ''), NULLIF($10, '')::uuid)";

struct SmtpUpload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<SmtpUpload*>(user);
  const size_t n = std::min(size * count, up->data->size() - up->offset);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

}  // namespace

SmtpSender CurlSmtpSender(EmailToolsConfig config) {
  return [config = std::move(config)](const SmtpEnvelope& envelope, const std::string& message) -> Status {
    EnsureCurlGlobalInit();
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* c = curl.get();
    curl_slist* raw = nullptr;
    for (const auto& r : envelope.recipients) raw = curl_slist_append(raw, ("<" + r + ">").c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt(raw, curl_slist_free_all);
    const std::string from = "<" + envelope.from + ">";
    SmtpUpload upload{&message};
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, config.smtp_url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout.count()));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    if (config.starttls) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!config.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, config.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, config.password.c_str());
    }
    const CURLcode code = curl_easy_perform(c);
    if (code == CURLE_OK) return Status::Ok();
    const std::string detail = *error_buffer != '\0' ? error_buffer : curl_easy_strerror(code);
    switch (code) {
      case CURLE_LOGIN_DENIED:
        return MakeError(ErrorCode::kUnavailable,
                         "the SMTP server refused the login (check tools.email.username and password): " + detail,
                         "tools.email");
      case CURLE_OPERATION_TIMEDOUT:
        return MakeError(ErrorCode::kDeadlineExceeded, "the SMTP server did not answer in time: " + detail,
                         "tools.email");
      case CURLE_USE_SSL_FAILED:
        return MakeError(ErrorCode::kUnavailable,
                         "the SMTP server does not offer STARTTLS, which tools.email.starttls requires: " + detail,
                         "tools.email");
      default:
        return MakeError(ErrorCode::kUnavailable, "sending failed: " + detail, "tools.email");
    }
  };
}

EmailToolProvider::EmailToolProvider(store::Database& db, EmailToolsConfig config, SmtpSender sender)
    : db_(db), config_(std::move(config)), sender_(sender ? std::move(sender) : CurlSmtpSender(config_)) {}

std::vector<ToolInfo> EmailToolProvider::ListTools() const {
  return {MakeTool("draft",
                   "Save an email as a draft in Steward's outbox without sending it, for the user to "
                   "review. Use it when the user asked for a draft or has not confirmed sending.",
                   "saving an email draft"),
          MakeTool("send",
                   "Send an email now over SMTP. Only recipients on the owner's allowlist can be "
                   "reached; anything else is refused and nothing is sent.",
                   "sending an email")};
}

Result<ToolCallResult> EmailToolProvider::Call(std::string_view tool, const json& args, const CallContext& ctx) {
  if (tool == "send") return Send(args, ctx);
  if (tool == "draft") return Draft(args, ctx);
  return MakeError(ErrorCode::kNotFound, "the email server has no tool \"" + std::string(tool) + "\"",
                   "email." + std::string(tool));
}

Result<ToolCallResult> EmailToolProvider::Send(const json& args, const CallContext& ctx) {
  auto parsed = ReadMessage(args, config_);
  if (!parsed.ok()) return parsed.error();
  const Message& m = *parsed;
  // Before anything is stored or connected to: a refused recipient stops the whole message.
  if (const auto refused = Refused(m, config_); !refused.empty()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "not sent: " + JoinStrings(refused) + (refused.size() == 1 ? " is" : " are") +
                         " not in tools.email.allow_recipients (allowed: " + AllowedPhrase(config_) +
                         "). Nothing was sent to anyone.",
                     "email.send");
  }
  const std::string domain = m.from.address.substr(m.from.address.rfind('@') + 1);
  const std::string message_id = NewMessageId(domain);
  const std::string to = Join(m.to, "\n"), cc = Join(m.cc, "\n");
  const std::string run_id = UuidOrEmpty(ctx.run_id);
  const std::string from_text = FormatMailbox(m.from);

  auto claim = db_.Transact([&](pqxx::work& tx) -> Result<Claim> {
    Claim c;
    pqxx::result r = tx.exec_params(std::string(kInsert) + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                                    m.key, "sending", from_text, to, cc, m.subject, m.body, m.html,
                                    message_id, run_id);
    if (!r.empty()) {
      c.id = r[0][0].as<int64_t>();
      return c;
    }
    const pqxx::row prior = tx.exec_params1(
        std::string("SELECT id, status, coalesce(to_char(sent_at AT TIME ZONE 'UTC', ") + kIsoUtc +
            "), ''), coalesce(message_id, ''), array_to_string(to_addrs, ', '), subject "
            "FROM email_outbox WHERE idempotency_key = $1 FOR UPDATE",
        m.key);
    c.id = prior[0].as<int64_t>();
    const std::string status = prior[1].as<std::string>();
    if (status == "sent") {
      c.duplicate = true;
      c.sent_at = prior[2].as<std::string>();
      c.message_id = prior[3].as<std::string>();
      c.to = prior[4].as<std::string>();
      c.subject = prior[5].as<std::string>();
      return c;
    }
    if (status == "sending") {
      return MakeError(ErrorCode::kConflict,
                       "a send with idempotency key \"" + m.key + "\" is in progress, or was interrupted "
                       "(outbox id " + std::to_string(c.id) + "); it is not sent again automatically "
                       "because it may have gone out",
                       "email.send");
    }
    // A draft or a failed attempt under this key: this send takes its place.
    tx.exec_params(
        "UPDATE email_outbox SET status = 'sending', from_addr = $2, to_addrs = string_to_array($3, chr(10)), "
        "cc_addrs = string_to_array($4, chr(10)), subject = $5, body = $6, html = NULLIF($7, ''), "
        "message_id = $8, run_id = NULLIF($9, '')::uuid, error = NULL, updated_at = now() WHERE id = $1",
        c.id, from_text, to, cc, m.subject, m.body, m.html, message_id, run_id);
    return c;
  });
  if (!claim.ok()) return claim.error();
  if (claim->duplicate) {
    return ToolCallResult::Text(
        "Already sent with idempotency key \"" + m.key + "\" at " + claim->sent_at + " (outbox id " +
            std::to_string(claim->id) + ", to " + claim->to + "); not sent again.",
        {{"id", claim->id}, {"status", "sent"}, {"duplicate", true}, {"message_id", claim->message_id},
         {"to", claim->to}, {"subject", claim->subject}, {"sent_at", claim->sent_at},
         {"idempotency_key", m.key}});
  }

  MailMessage mail;
  mail.from = m.from;
  mail.to = m.to;
  mail.cc = m.cc;
  mail.subject = m.subject;
  mail.text = m.body;
  mail.html = m.html;
  mail.message_id = message_id;
  mail.date = std::chrono::system_clock::now();
  SmtpEnvelope envelope;
  envelope.from = m.from.address;
  for (const auto* list : {&m.to, &m.cc}) {
    for (const auto& box : *list) envelope.recipients.push_back(box.address);
  }
  const Status sent = sender_(envelope, RenderMessage(mail, "=_steward_" + RandomHex()));

  auto recorded = db_.Transact([&](pqxx::work& tx) {
    if (sent.ok()) {
      tx.exec_params("UPDATE email_outbox SET status = 'sent', sent_at = now(), updated_at = now() WHERE id = $1",
                     claim->id);
    } else {
      tx.exec_params("UPDATE email_outbox SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
                     claim->id, sent.error().message);
    }
  });
  if (!sent.ok()) return sent.error();
  std::string text = "Sent \"" + m.subject + "\" to " + Join(m.to, ", ") +
                     (m.cc.empty() ? "" : " (cc " + Join(m.cc, ", ") + ")") + ", Message-ID " + message_id +
                     ", outbox id " + std::to_string(claim->id) + ".";
  if (!recorded.ok()) text += " (The outbox could not be updated: " + recorded.error().message + ".)";
  json structured = {{"id", claim->id},      {"status", "sent"},         {"duplicate", false},
                     {"message_id", message_id}, {"to", Join(m.to, ", ")}, {"cc", Join(m.cc, ", ")},
                     {"subject", m.subject}};
  if (!m.key.empty()) structured["idempotency_key"] = m.key;
  return ToolCallResult::Text(std::move(text), std::move(structured));
}

Result<ToolCallResult> EmailToolProvider::Draft(const json& args, const CallContext& ctx) {
  auto parsed = ReadMessage(args, config_);
  if (!parsed.ok()) return parsed.error();
  const Message& m = *parsed;
  const std::string to = Join(m.to, "\n"), cc = Join(m.cc, "\n");
  auto saved = db_.Transact([&](pqxx::work& tx) -> Result<int64_t> {
    pqxx::result r = tx.exec_params(std::string(kInsert) + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                                    m.key, "draft", FormatMailbox(m.from), to, cc, m.subject, m.body, m.html,
                                    "", UuidOrEmpty(ctx.run_id));
    if (r.empty()) {
      return MakeError(ErrorCode::kConflict,
                       "idempotency key \"" + m.key + "\" is already used by another outbox entry", "email.draft");
    }
    return r[0][0].as<int64_t>();
  });
  if (!saved.ok()) return saved.error();
  std::string text = "Saved a draft \"" + m.subject + "\" to " + Join(m.to, ", ") + " (outbox id " +
                     std::to_string(*saved) + "). It was not sent.";
  const auto refused = Refused(m, config_);
  if (!refused.empty()) {
    text += " Note: email.send would refuse " + JoinStrings(refused) +
            " (not in tools.email.allow_recipients).";
  }
  return ToolCallResult::Text(std::move(text), {{"id", *saved},
                                                {"status", "draft"},
                                                {"to", Join(m.to, ", ")},
                                                {"cc", Join(m.cc, ", ")},
                                                {"subject", m.subject},
                                                {"refused_recipients", JoinStrings(refused)}});
}

}  // namespace steward::tools::builtin
