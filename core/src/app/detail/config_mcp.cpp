#include "app/detail/config_mcp.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

namespace steward::app::detail {

namespace {

namespace fs = std::filesystem;

constexpr double kMaxTimeoutSeconds = 86'400;

bool IsServerName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
         });
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// YAML's booleans as yaml-cpp reads them (1.1: yes/no/on/off too), after ${ENV} substitution.
Status GetBool(const Field& f, bool& out) {
  if (!f.present()) return Status::Ok();
  Result<Scalar> s = ReadScalar(f, "true or false");
  if (!s.ok()) return s.error();
  std::string v = s->value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    return f.Fail("expected true or false, got " + Quote(s->shown));
  }
  return Status::Ok();
}

// A mapping of names to one-line strings (env variables, HTTP headers).
Status GetStringMap(const Field& f, std::string_view what, bool (*valid_name)(std::string_view),
                    std::string_view example, std::map<std::string, std::string>& out) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  for (const Mapping::Entry& e : m->entries()) {
    if (!valid_name(e.key)) {
      Field at = e.value;
      at.mark = e.key_mark;
      return at.Fail("invalid " + std::string(what) + " name " + Quote(e.key) + " (expected e.g. " +
                     std::string(example) + ")");
    }
    std::string value;
    if (!e.value.present()) return e.value.Fail("expected a value (write \"\" for an empty one)");
    STEWARD_RETURN_IF_ERROR(GetString(e.value, value));
    if (value.find_first_of("\r\n") != std::string::npos) {
      return e.value.Fail("expected a value on one line");
    }
    out[e.key] = std::move(value);
  }
  return Status::Ok();
}

bool IsHeaderName(std::string_view name) {
  return !name.empty() && name.find_first_of(": \t\r\n") == std::string_view::npos;
}

// Relative to the config file's directory.
std::string Resolve(const Field& f, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = f.ctx->base_dir / p;
  return p.lexically_normal().string();
}

Status ParseServer(const Mapping::Entry& entry, tools::McpServerConfig& s) {
  static const Keys kKeys = {"transport", "command",   "args",    "env",
                             "cwd",       "append_file_roots", "url", "headers",
                             "timeout_s", "enabled"};
  static const Keys kTransports = {"stdio", "http"};
  static const Keys kStdioOnly = {"command", "args", "env", "cwd", "append_file_roots"};
  static const Keys kHttpOnly = {"url", "headers"};
  Result<Mapping> m = Mapping::Open(entry.value, &kKeys);
  if (!m.ok()) return m.error();
  s.name = entry.key;
  if (!entry.value.present()) {
    return entry.value.Fail("expected a mapping with transport and command (stdio) or url (http)");
  }

  std::string transport;
  STEWARD_RETURN_IF_ERROR(GetChoice(m->Get("transport"), kTransports, "transport", transport));
  if (transport.empty()) {
    // Unambiguous without it: a url means http, a command means stdio.
    const bool has_url = m->Get("url").present();
    const bool has_command = m->Get("command").present();
    if (has_url == has_command) {
      return m->Get("transport").Fail(
          has_url ? std::string("both command and url are set; say which with transport: stdio or "
                                "transport: http")
                  : std::string("missing required key \"command\" (a stdio server's program, e.g. "
                                "npx) or \"url\" (an http server's endpoint)"));
    }
    transport = has_url ? "http" : "stdio";
  }
  s.transport = transport == "http" ? tools::McpTransportKind::kHttp : tools::McpTransportKind::kStdio;
  for (std::string_view key : transport == "http" ? kStdioOnly : kHttpOnly) {
    const Field field = m->Get(key);
    if (field.present()) {
      return field.Fail(std::string(key) + " is not used by transport " + Quote(transport) + " (" +
                        (transport == "http" ? "command, args, env, cwd and append_file_roots are for "
                                               "stdio servers"
                                             : "url and headers are for http servers") +
                        ")");
    }
  }

  if (transport == "stdio") {
    const Field command = m->Get("command");
    if (!command.present()) {
      return command.Fail("missing required key \"command\" (the program that runs the server, e.g. "
                          "npx or node)");
    }
    STEWARD_RETURN_IF_ERROR(GetString(command, s.command));
    if (s.command.empty()) return command.Fail("expected a non-empty command");
    // A path with a '/' is a file; relative ones start at the config file like every other path.
    if (s.command.find('/') != std::string::npos) s.command = Resolve(command, s.command);
    STEWARD_RETURN_IF_ERROR(GetStringList(m->Get("args"), s.args));
    STEWARD_RETURN_IF_ERROR(
        GetStringMap(m->Get("env"), "environment variable", IsEnvName, "GITHUB_TOKEN", s.env));
    const Field cwd = m->Get("cwd");
    STEWARD_RETURN_IF_ERROR(GetString(cwd, s.cwd));
    if (cwd.present()) {
      if (s.cwd.empty()) return cwd.Fail("expected a directory (leave cwd out for Steward's own)");
      // Not checked for existence here: a missing folder makes this server fail to start
      // (logged, marked unhealthy) rather than keeping all of Steward from starting.
      s.cwd = Resolve(cwd, s.cwd);
    }
    STEWARD_RETURN_IF_ERROR(GetBool(m->Get("append_file_roots"), s.append_file_roots));
  } else {
    const Field url = m->Get("url");
    if (!url.present()) {
      return url.Fail("missing required key \"url\" (the server's MCP endpoint, e.g. "
                      "http://127.0.0.1:9000/mcp)");
    }
    std::string shown;
    STEWARD_RETURN_IF_ERROR(GetString(url, s.url, &shown));
    const size_t scheme = s.url.rfind("https://", 0) == 0 ? 8 : s.url.rfind("http://", 0) == 0 ? 7 : 0;
    if (scheme == 0 || s.url.size() == scheme || s.url.find_first_of(" \t\r\n") != std::string::npos) {
      return url.Fail("expected an http:// or https:// URL (e.g. http://127.0.0.1:9000/mcp), got " +
                      Quote(shown));
    }
    STEWARD_RETURN_IF_ERROR(
        GetStringMap(m->Get("headers"), "header", IsHeaderName, "Authorization", s.headers));
  }

  double seconds = std::chrono::duration<double>(s.timeout).count();
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("timeout_s"), 0.001, kMaxTimeoutSeconds,
                                    "a number of seconds between 0.001 and 86400", seconds));
  s.timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
  return GetBool(m->Get("enabled"), s.enabled);
}

}  // namespace

Status ParseMcpServers(const Field& f, Config& config) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  config.mcp_servers.clear();
  for (const Mapping::Entry& e : m->entries()) {
    if (!IsServerName(e.key)) {
      Field at = e.value;
      at.mark = e.key_mark;
      return at.Fail("invalid MCP server name " + Quote(e.key) +
                     " (expected letters, digits, _ and -: it prefixes the server's tools, as fs in "
                     "fs.read_text_file)");
    }
    tools::McpServerConfig server;
    STEWARD_RETURN_IF_ERROR(ParseServer(e, server));
    config.mcp_servers.push_back(std::move(server));
  }
  return Status::Ok();
}

Status ParseFiles(const Field& f, Config& config) {
  static const Keys kKeys = {"roots"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  const Field roots = m->Get("roots");
  std::vector<std::string> paths;
  STEWARD_RETURN_IF_ERROR(GetStringList(roots, paths));
  for (auto& path : paths) path = Resolve(roots, path);
  config.files.roots = std::move(paths);
  return Status::Ok();
}

}  // namespace steward::app::detail
