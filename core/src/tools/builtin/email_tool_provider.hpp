#pragma once
// The built-in "email" tool server: send over SMTP (libcurl) to allowlisted recipients only, at
// most once per idempotency key, and save drafts. Every send and draft is a row of email_outbox.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/database.hpp"
#include "tools/builtin/builtin_config.hpp"
#include "tools/tool.hpp"

namespace steward::tools::builtin {

// Who the SMTP transaction is from and to (MAIL FROM / RCPT TO), apart from the headers.
struct SmtpEnvelope {
  std::string from;                     // bare address
  std::vector<std::string> recipients;  // bare addresses: To and Cc
};

// Delivers one rendered message (CRLF lines). Returns kUnavailable/kDeadlineExceeded/
// kPermissionDenied (login refused) with the server's words when it could not.
using SmtpSender = std::function<Status(const SmtpEnvelope&, const std::string& message)>;

// The libcurl sender for config.smtp_url (smtp:// or smtps://; STARTTLS required when
// config.starttls; AUTH when username is set). Thread-safe.
[[nodiscard]] SmtpSender CurlSmtpSender(EmailToolsConfig config);

// Tools (namespaced under "email"; risk tiers from DefaultTier: send high, draft low):
//   send {to: [addr], subject, body, cc?: [addr], html?, idempotency_key?} -> {id, status,
//       message_id, to, cc, subject, duplicate}: every recipient must match
//       config.allow_recipients, else nothing is sent, stored or connected to (kPermissionDenied).
//       With a key that already sent, returns the earlier send (duplicate: true) without sending.
//   draft {to, subject, body, cc?, html?, idempotency_key?} -> {id, status: "draft", ...}:
//       stored in email_outbox, never sent; notes recipients a send would refuse.
// Thread-safe (the Database is; the sender must be).
class EmailToolProvider final : public ToolProvider {
 public:
  // `db` must outlive the provider and have migration 0005 applied; `sender` defaults to
  // CurlSmtpSender(config). config.from must be a valid mailbox (checked when config loads).
  EmailToolProvider(store::Database& db, EmailToolsConfig config, SmtpSender sender = {});

  [[nodiscard]] std::string_view server() const override { return "email"; }
  [[nodiscard]] std::vector<ToolInfo> ListTools() const override;
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view tool, const nlohmann::json& args,
                                            const CallContext& ctx) override;

 private:
  [[nodiscard]] Result<ToolCallResult> Send(const nlohmann::json& args, const CallContext& ctx);
  [[nodiscard]] Result<ToolCallResult> Draft(const nlohmann::json& args, const CallContext& ctx);

  store::Database& db_;
  EmailToolsConfig config_;
  SmtpSender sender_;
};

}  // namespace steward::tools::builtin
