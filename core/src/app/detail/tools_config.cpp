#include "app/detail/tools_config.hpp"

#include <cmath>
#include <filesystem>

#include "tools/builtin/address_guard.hpp"
#include "tools/builtin/mail_message.hpp"

namespace steward::app::detail {

namespace {

namespace fs = std::filesystem;

Status GetBool(const Field& f, bool& out) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f, "true or false");
  if (!s.ok()) return s.error();
  const std::string& v = s->value;
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    return f.Fail("expected true or false, got " + Quote(s->shown));
  }
  return Status::Ok();
}

Status GetSeconds(const Field& f, std::chrono::milliseconds& out) {
  double seconds = std::chrono::duration<double>(out).count();
  STEWARD_RETURN_IF_ERROR(
      GetNumber(f, 0.1, 3600, "a number of seconds between 0.1 and 3600", seconds));
  out = std::chrono::milliseconds(std::llround(seconds * 1000));
  return Status::Ok();
}

Status GetBytes(const Field& f, int lo, int hi, size_t& out) {
  int value = static_cast<int>(out);
  STEWARD_RETURN_IF_ERROR(GetInt(f, lo, hi, value));
  out = static_cast<size_t>(value);
  return Status::Ok();
}

// An http(s) base URL, without trailing slashes.
Status GetHttpUrl(const Field& f, std::string& out) {
  if (!f.present()) return Status::Ok();
  std::string shown;
  std::string url;
  STEWARD_RETURN_IF_ERROR(GetString(f, url, &shown));
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return f.Fail("expected an http:// or https:// URL, got " + Quote(shown));
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  out = url;
  return Status::Ok();
}

// A path that must exist; relative paths start at the config file's directory.
Status GetExistingPath(const Field& f, std::string_view what, fs::path& out) {
  if (!f.present()) return Status::Ok();
  std::string text, shown;
  STEWARD_RETURN_IF_ERROR(GetString(f, text, &shown));
  fs::path path(text);
  if (path.is_relative()) path = f.ctx->base_dir / path;
  path = path.lexically_normal();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    const std::string looked = shown == text ? "looked for " + path.string() + "; " : "";
    return f.Fail(std::string(what) + " " + Quote(shown) + " does not exist (" + looked +
                  "relative paths start at the config file's directory)");
  }
  out = path;
  return Status::Ok();
}

Status ParseWeb(const Field& f, tools::builtin::WebToolsConfig& web) {
  static const Keys kKeys = {"enabled",    "search_backend", "searxng_url",    "corpus",
                             "allow_private", "allow_hosts", "timeout_s",      "max_bytes",
                             "max_text_bytes", "hn_base_url", "offline",       "hn_fixture"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(GetBool(m->Get("enabled"), web.enabled));
  STEWARD_RETURN_IF_ERROR(
      GetChoice(m->Get("search_backend"), {"local", "searxng"}, "search backend", web.search_backend));
  STEWARD_RETURN_IF_ERROR(GetHttpUrl(m->Get("searxng_url"), web.searxng_url));
  if (web.search_backend == "searxng" && web.searxng_url.empty()) {
    return m->Get("searxng_url").Fail(
        "search_backend searxng needs searxng_url, the base URL of a SearXNG instance with the JSON "
        "format enabled (e.g. http://127.0.0.1:8888)");
  }
  STEWARD_RETURN_IF_ERROR(GetExistingPath(m->Get("corpus"), "corpus", web.corpus));
  STEWARD_RETURN_IF_ERROR(GetBool(m->Get("allow_private"), web.allow_private));
  const Field hosts = m->Get("allow_hosts");
  STEWARD_RETURN_IF_ERROR(GetStringList(hosts, web.allow_hosts));
  for (const auto& entry : web.allow_hosts) {
    if (auto problem = tools::builtin::CheckHostEntry(entry)) return hosts.Fail(*problem);
  }
  STEWARD_RETURN_IF_ERROR(GetSeconds(m->Get("timeout_s"), web.timeout));
  STEWARD_RETURN_IF_ERROR(GetBytes(m->Get("max_bytes"), 1024, 256 * 1024 * 1024, web.max_bytes));
  STEWARD_RETURN_IF_ERROR(GetBytes(m->Get("max_text_bytes"), 256, 256 * 1024 * 1024, web.max_text_bytes));
  if (web.max_text_bytes > web.max_bytes) {
    return m->Get("max_text_bytes").Fail("max_text_bytes (" + std::to_string(web.max_text_bytes) +
                                         ") cannot exceed max_bytes (" + std::to_string(web.max_bytes) + ")");
  }
  STEWARD_RETURN_IF_ERROR(GetHttpUrl(m->Get("hn_base_url"), web.hn_base_url));
  STEWARD_RETURN_IF_ERROR(GetBool(m->Get("offline"), web.offline));
  return GetExistingPath(m->Get("hn_fixture"), "hn_fixture", web.hn_fixture);
}

Status ParseEmail(const Field& f, tools::builtin::EmailToolsConfig& email) {
  static const Keys kKeys = {"smtp_url", "from",     "username",         "password",
                             "starttls", "timeout_s", "allow_recipients"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  const Field url = m->Get("smtp_url");
  std::string shown;
  STEWARD_RETURN_IF_ERROR(GetString(url, email.smtp_url, &shown));
  if (!email.smtp_url.empty() && email.smtp_url.rfind("smtp://", 0) != 0 &&
      email.smtp_url.rfind("smtps://", 0) != 0) {
    return url.Fail("expected smtp://HOST:PORT or smtps://HOST:PORT, got " + Quote(shown));
  }
  const Field from = m->Get("from");
  STEWARD_RETURN_IF_ERROR(GetString(from, email.from, &shown));
  if (!email.smtp_url.empty() && email.from.empty()) {
    return from.Fail("smtp_url is set, so from is required (e.g. \"Steward <steward@example.com>\")");
  }
  if (!email.from.empty()) {
    auto box = tools::builtin::ParseMailbox(email.from);
    if (!box.ok()) return from.Fail(box.error().message);
  }
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("username"), email.username));
  STEWARD_RETURN_IF_ERROR(GetString(m->Get("password"), email.password));
  STEWARD_RETURN_IF_ERROR(GetBool(m->Get("starttls"), email.starttls));
  STEWARD_RETURN_IF_ERROR(GetSeconds(m->Get("timeout_s"), email.timeout));
  return GetStringList(m->Get("allow_recipients"), email.allow_recipients);
}

}  // namespace

Status ParseToolsSection(const Field& f, Config& config) {
  static const Keys kKeys = {"web", "email"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  STEWARD_RETURN_IF_ERROR(ParseWeb(m->Get("web"), config.tools.web));
  return ParseEmail(m->Get("email"), config.tools.email);
}

}  // namespace steward::app::detail
