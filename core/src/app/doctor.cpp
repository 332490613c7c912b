#include "app/doctor.hpp"

#include <array>
#include <cstdio>
#include <memory>

#include "app/chat_client.hpp"
#include "app/config.hpp"
#include "app/home.hpp"
#include "app/server.hpp"
#include "store/database.hpp"
#include "telemetry/logging.hpp"

namespace steward::app {

namespace {

struct Report {
  std::ostream& out;
  int failures = 0;
  void Ok(const std::string& what, const std::string& detail) { out << "  ok    " << what << ": " << detail << "\n"; }
  void Warn(const std::string& what, const std::string& detail) { out << "  warn  " << what << ": " << detail << "\n"; }
  void Fail(const std::string& what, const std::string& detail) {
    ++failures;
    out << "  FAIL  " << what << ": " << telemetry::Redact(detail) << "\n";
  }
};

// Runs a command and returns its exit status and the first line of its output.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen((command + " 2>&1").c_str(), "r"), pclose);
  if (!pipe) return {-1, "cannot run: " + command};
  std::string output;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), buf.size(), pipe.get())) output += buf.data();
  const int status = pclose(pipe.release());
  const size_t nl = output.find('\n');
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.substr(0, nl)};
}

}  // namespace

int RunDoctor(const std::string& config_flag, std::ostream& out) {
  Report r{out};
  const auto home = ResolveHome();
  out << "steward doctor (home " << home.string() << ")\n";

  const std::filesystem::path path = config_flag.empty() ? DefaultConfigPath(home) : std::filesystem::path(config_flag);
  Result<Config> config = path.empty() ? Result<Config>(DefaultConfig()) : LoadConfigFile(path, ProcessEnv());
  if (!config.ok()) {
    r.Fail("config", config.error().ToString());
    return 1;
  }
  r.Ok("config", path.empty() ? "built-in defaults (offline model, no key needed)" : path.string());

  if (config->database.url.empty()) {
    const auto [status, line] = RunCommand("ls -d /usr/lib/postgresql/*/bin/initdb");
    if (status == 0) {
      r.Ok("database", "embedded PostgreSQL in " + (home / "postgres").string() + " (" + line + ")");
    } else {
      r.Fail("database", "no database.url and no PostgreSQL binaries: apt-get install postgresql");
    }
  } else {
    auto db = store::Database::Connect(config->database.url, 1, std::chrono::seconds(5));
    if (db.ok()) {
      r.Ok("database", "connected");
    } else {
      r.Fail("database", db.error().ToString());
    }
  }

  for (const auto& provider : config->providers) {
    if (provider.kind == "offline" || provider.kind == "scripted") {
      r.Ok("provider " + provider.name, provider.kind + " (local, no network)");
    } else if (provider.api_key.empty() && provider.kind == "anthropic") {
      r.Warn("provider " + provider.name, "no api_key configured");
    } else {
      r.Ok("provider " + provider.name, provider.kind + " at " + provider.base_url);
    }
  }

  auto python = FindWorkerPython(*config);
  if (!python.ok()) {
    r.Fail("workers", python.error().ToString());
  } else {
    const auto [status, line] = RunCommand("'" + *python + "' -c 'import steward_worker, pydantic_ai; print(pydantic_ai.__version__)'");
    if (status == 0) {
      r.Ok("workers", *python + " (pydantic-ai " + line + ")");
    } else {
      r.Fail("workers", *python + " cannot import steward_worker: " + line + " (run the README's setup command)");
    }
  }

  const char* env_url = std::getenv("STEWARD_URL");
  const std::string url = env_url && *env_url ? env_url : "http://127.0.0.1:8377";
  if (ServerIsUp(url, 1000)) {
    auto token = ClientToken(home);
    if (!token.ok()) {
      r.Warn("server", url + " is up, but " + token.error().ToString());
    } else {
      auto health = GetJson(url, *token, "/healthz");
      r.Ok("server", url + " is up" + (health.ok() ? " (" + health->value("status", std::string("?")) + ")" : ""));
      // Circuit breakers live in the server: an open one means its provider is failing right now.
      if (health.ok() && health->contains("providers") && (*health)["providers"].is_array()) {
        for (const auto& p : (*health)["providers"]) {
          const std::string name = "breaker " + p.value("name", std::string("?"));
          const std::string state = p.value("breaker", std::string("closed"));
          if (state == "closed") {
            r.Ok(name, "closed (" + std::to_string(p.value("recent_failures", 0)) + " recent failures)");
          } else {
            std::string detail = state == "open" ? "open: calls fail fast; next probe in " +
                                                       std::to_string(static_cast<int>(p.value("retry_in_s", 0.0) + 0.5)) + " s"
                                                 : "half-open: the next call probes the provider";
            if (p.contains("last_error")) detail += " (last error: " + p.value("last_error", std::string()) + ")";
            r.Warn(name, detail);
          }
        }
      }
    }
  } else {
    r.Warn("server", "nothing answers at " + url + "; `steward serve` starts one (chat starts its own if needed)");
  }
  out << (r.failures == 0 ? "all checks passed\n" : std::to_string(r.failures) + " check(s) failed\n");
  return r.failures == 0 ? 0 : 1;
}

}  // namespace steward::app
