#pragma once
// Settings of the built-in `web` and `email` tool servers: the `tools:` section of steward.yaml.
// Plain data; app/detail/tools_config.cpp parses and validates it, builtin_tools.cpp uses it.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace steward::tools::builtin {

struct WebToolsConfig {
  bool enabled = true;
  std::string search_backend = "local";  // "local" (offline corpus) | "searxng"
  std::string searxng_url;               // base URL of a SearXNG instance (JSON format enabled)
  // A directory of .md/.txt/.html files or a .jsonl file of {title, url, content}; empty: the
  // config/corpus shipped with Steward, found next to the installation.
  std::filesystem::path corpus;
  // Private, loopback, link-local... addresses are refused by web.fetch unless this is set or
  // the URL's host is in allow_hosts ("host" or "host:port", IPv6 in brackets).
  bool allow_private = false;
  std::vector<std::string> allow_hosts;
  std::chrono::milliseconds timeout{15'000};  // per request, connect included
  size_t max_bytes = 2 * 1024 * 1024;         // most bytes read from a response
  size_t max_text_bytes = 100 * 1024;         // most bytes of text a fetch returns
  std::string hn_base_url = "https://hacker-news.firebaseio.com/v0";
  bool offline = false;  // never use the network for web.hn_top (serve hn_fixture)
  // The Hacker News feed served when the network is down or offline is set; empty: the
  // config/feeds/hn_top.json shipped with Steward.
  std::filesystem::path hn_fixture;
};

struct EmailToolsConfig {
  std::string smtp_url;  // smtp://host:port or smtps://host:port; empty: no email server
  std::string from;      // "Name <addr@host>" or "addr@host"
  std::string username;  // SMTP AUTH, when set
  std::string password;  // from ${ENV}; registered as a secret for log redaction
  bool starttls = false;  // require STARTTLS on smtp://
  std::vector<std::string> allow_recipients;  // globs over addresses ("*@example.com"); empty: none
  std::chrono::milliseconds timeout{30'000};
};

struct BuiltinToolsConfig {
  WebToolsConfig web;
  EmailToolsConfig email;
};

}  // namespace steward::tools::builtin
