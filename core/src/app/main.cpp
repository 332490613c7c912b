// `steward`: the one binary. Subcommands parse their flags here and call into app/.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/chat_client.hpp"
#include "app/config.hpp"
#include "app/doctor.hpp"
#include "app/home.hpp"
#include "app/ingest_command.hpp"
#include "app/memory_command.hpp"
#include "app/server.hpp"
#include "app/schedules_command.hpp"
#include "app/tools_command.hpp"
#include "app/approvals_command.hpp"
#include "app/metrics_command.hpp"
#include "app/trace_command.hpp"
#include "app/export_command.hpp"
#include "app/workflow_command.hpp"
#include "telemetry/logging.hpp"

namespace {

using namespace steward;

int Fail(const Error& error) {
  std::cerr << "steward: " << telemetry::Redact(error.ToString()) << "\n";
  return error.code == ErrorCode::kConfig ? 2 : 1;
}

Result<app::Config> LoadConfig(const std::string& flag, const std::filesystem::path& home) {
  const std::filesystem::path path = flag.empty() ? app::DefaultConfigPath(home) : std::filesystem::path(flag);
  if (path.empty()) return app::DefaultConfig();
  return app::LoadConfigFile(path, app::ProcessEnv());
}

// Blocks SIGINT/SIGTERM in every thread (they inherit the mask) so the main thread can sigwait.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Serve(const std::string& config_flag, const std::string& listen) {
  const auto home = app::ResolveHome();
  auto config = LoadConfig(config_flag, home);
  if (!config.ok()) return Fail(config.error());
  if (std::getenv("STEWARD_LOG_FORMAT") == nullptr && config->telemetry.log_format == "json") {
    telemetry::SetupLogging(telemetry::LogFormat::kJson, spdlog::level::to_string_view(spdlog::get_level()).data());
  }
  const sigset_t signals = BlockShutdownSignals();
  auto server = app::Server::Start({home, std::move(*config), listen});
  if (!server.ok()) return Fail(server.error());
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop();
  spdlog::info("stopped");
  return 0;
}

struct ChatFlags {
  std::string config;
  std::string agent;
  std::string session;
  bool quiet = false;
  std::vector<std::string> words;
};

// A running server (STEWARD_URL or the default address), or one started in this process for the
// duration of the command.
struct Connection {
  std::string url;
  std::string token;
  std::unique_ptr<app::Server> embedded;
};

Result<Connection> Connect(const std::string& config_flag) {
  const auto home = app::ResolveHome();
  const char* env_url = std::getenv("STEWARD_URL");
  Connection conn;
  conn.url = env_url && *env_url ? env_url : "http://127.0.0.1:8377";
  while (!conn.url.empty() && conn.url.back() == '/') conn.url.pop_back();
  if (app::ServerIsUp(conn.url, 500)) {
    auto token = app::ClientToken(home);
    if (!token.ok()) return token.error();
    conn.token = *token;
    return conn;
  }
  if (env_url && *env_url) {
    return MakeError(ErrorCode::kUnavailable, "no Steward server answers at " + conn.url + " (from STEWARD_URL)");
  }
  auto config = LoadConfig(config_flag, home);
  if (!config.ok()) return config.error();
  std::cerr << "  · starting an embedded Steward for this command…\n";
  auto server = app::Server::Start({home, std::move(*config), "127.0.0.1:0"});
  if (!server.ok()) return server.error();
  conn.embedded = std::move(*server);
  conn.url = conn.embedded->url();
  conn.token = conn.embedded->owner_token();
  return conn;
}

int Chat(const ChatFlags& flags) {
  BlockShutdownSignals();  // keep the embedded server's threads from taking Ctrl-C…
  sigset_t unblock;        // …but let the main thread die on it as usual
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGINT);
  sigaddset(&unblock, SIGTERM);
  auto conn = Connect(flags.config);
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  if (!conn.ok()) return Fail(conn.error());
  app::ChatClientOptions options;
  options.base_url = conn->url;
  options.token = conn->token;
  options.agent = flags.agent;
  options.session_id = flags.session;
  options.show_progress = !flags.quiet;

  if (!flags.words.empty()) {
    std::string message;
    for (const auto& w : flags.words) message += (message.empty() ? "" : " ") + w;
    auto outcome = app::SendChat(options, message);
    if (!outcome.ok()) return Fail(outcome.error());
    if (!flags.quiet) std::cerr << "  session " << outcome->session_id << "\n";
    return 0;
  }

  const bool tty = isatty(STDIN_FILENO);
  if (tty) std::cerr << "Steward chat. Empty line or Ctrl-D to quit.\n";
  std::string line;
  for (;;) {
    if (tty) std::cerr << "\nyou> " << std::flush;
    if (!std::getline(std::cin, line) || line.empty() || line == "/exit" || line == "/quit") break;
    auto outcome = app::SendChat(options, line);
    if (!outcome.ok()) {
      Fail(outcome.error());
      if (outcome.error().code == ErrorCode::kUnauthenticated) return 1;
      continue;
    }
    options.session_id = outcome->session_id;  // keep the conversation going
  }
  if (!options.session_id.empty() && !flags.quiet) std::cerr << "  session " << options.session_id << "\n";
  return 0;
}

int Sessions(const std::string& config_flag) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  auto list = app::GetJson(conn->url, conn->token, "/api/sessions?limit=50");
  if (!list.ok()) return Fail(list.error());
  for (const auto& s : (*list)["sessions"]) {
    std::cout << s.value("id", "") << "  " << s.value("updated_at", "") << "  " << s.value("message_count", 0)
              << " msgs  " << s.value("agent", "") << "  " << s.value("title", "") << "\n";
  }
  return 0;
}

int Tools(const std::string& config_flag, bool as_json) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunToolsCommand(conn->url, conn->token, as_json, std::cout, std::cerr);
}

// `steward schedules` (app/schedules_command.hpp).
int Schedules(const std::string& config_flag, bool as_json) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunSchedulesCommand(conn->url, conn->token, as_json, std::cout, std::cerr);
}

// `steward approvals`, `approve`, `deny`, `tools gaps` (app/approvals_command.hpp).
struct ApprovalFlags {
  std::string id;
  std::string note;
  bool all = false;
  bool json = false;
};

int Approvals(const std::string& config_flag, const ApprovalFlags& flags, int decision) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  if (decision == 0) return app::RunApprovalsCommand(conn->url, conn->token, flags.all, flags.json, std::cout, std::cerr);
  return app::RunDecideCommand(conn->url, conn->token, flags.id, decision > 0, flags.note, std::cout, std::cerr);
}

int ToolGaps(const std::string& config_flag, bool as_json) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunToolGapsCommand(conn->url, conn->token, as_json, std::cout, std::cerr);
}

int MemorySearch(const std::string& config_flag, app::MemorySearchFlags flags, const std::vector<std::string>& words) {
  for (const auto& w : words) flags.query += (flags.query.empty() ? "" : " ") + w;
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunMemorySearchCommand(conn->url, conn->token, flags, std::cout, std::cerr);
}

// Exit status 1 when any file failed: the batch completed, but not everything is in memory.
int Ingest(const std::string& config_flag, app::IngestCommandOptions options, bool no_recursive) {
  options.recursive = !no_recursive;
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  options.base_url = conn->url;
  options.token = conn->token;
  auto outcome = app::RunIngest(options);
  if (!outcome.ok()) return Fail(outcome.error());
  return outcome->failed > 0 ? 1 : 0;
}

// `steward metrics` (app/metrics_command.hpp).
struct MetricsFlags {
  std::string since;
  bool json = false;
  bool explain = false;
};

int Metrics(const std::string& config_flag, const MetricsFlags& flags) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunMetricsCommand(conn->url, conn->token, flags.since, flags.json, flags.explain, std::cout, std::cerr);
}

// `steward run` and `steward runs` (app/workflow_command.hpp).
struct WorkflowFlags {
  std::string workflow;
  std::vector<std::string> inputs;
  bool quiet = false;
  bool detach = false;
  std::string runs_workflow;
  std::string runs_status;
  std::string run_id;
  bool json = false;
};

int RunWorkflow(const std::string& config_flag, const WorkflowFlags& flags) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  app::RunWorkflowOptions options;
  options.base_url = conn->url;
  options.token = conn->token;
  options.workflow = flags.workflow;
  options.inputs = flags.inputs;
  options.quiet = flags.quiet;
  options.detach = flags.detach;
  return app::RunWorkflowCommand(options, std::cout, std::cerr);
}

int Runs(const std::string& config_flag, const WorkflowFlags& flags) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunRunsCommand(conn->url, conn->token, flags.runs_workflow, flags.runs_status, flags.run_id, flags.json,
                             std::cout, std::cerr);
}

int Trace(const std::string& config_flag, const std::string& run_id) {
  auto conn = Connect(config_flag);
  if (!conn.ok()) return Fail(conn.error());
  return app::RunTraceCommand(conn->url, conn->token, run_id, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a vanished client or worker is an error value, not a process death
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const char* log_format = std::getenv("STEWARD_LOG_FORMAT");
  const char* log_level = std::getenv("STEWARD_LOG_LEVEL");

  CLI::App cli{"Steward: a self-hosted personal AI assistant and agent-framework workbench"};
  cli.require_subcommand(1);
  std::string config_flag;
  cli.add_option("--config", config_flag, "configuration file (default: $STEWARD_CONFIG or $STEWARD_HOME/steward.yaml)");

  std::string listen;
  auto* serve = cli.add_subcommand("serve", "run the server");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (default from config: 127.0.0.1:8377)");

  ChatFlags chat_flags;
  auto* chat = cli.add_subcommand("chat", "chat with an agent: one message as arguments, or interactive");
  chat->add_option("--agent", chat_flags.agent, "agent to talk to (default: the config's default_agent)");
  chat->add_option("--session", chat_flags.session, "continue this session id");
  chat->add_flag("-q,--quiet", chat_flags.quiet, "print only the answer");
  chat->add_option("message", chat_flags.words, "the message (omit for an interactive chat)");

  auto* doctor = cli.add_subcommand("doctor", "check the configuration, database, providers and workers");
  auto* sessions = cli.add_subcommand("sessions", "list recent chat sessions");
  std::string trace_run;
  auto* trace = cli.add_subcommand("trace", "print a run's span tree: durations, tokens, costs, errors");
  trace->add_option("run", trace_run, "the run id (from `done` events, /api/runs, or the chat footer)")->required();

  WorkflowFlags workflow_flags;
  auto* run_cmd = cli.add_subcommand("run", "run a workflow and stream its progress live");
  run_cmd->add_option("workflow", workflow_flags.workflow, "the workflow's name under `workflows:`")->required();
  run_cmd->add_option("-i,--input", workflow_flags.inputs, "an input as KEY=VALUE (repeatable; JSON values keep their type)");
  run_cmd->add_flag("-q,--quiet", workflow_flags.quiet, "print only the run's output");
  run_cmd->add_flag("--detach", workflow_flags.detach, "start the run, print its id and return");
  auto* runs_cmd = cli.add_subcommand("runs", "workflow run history, or one run with its steps");
  runs_cmd->add_option("run", workflow_flags.run_id, "a run id: show its steps, timings, inputs, outputs, errors");
  runs_cmd->add_option("--workflow", workflow_flags.runs_workflow, "only runs of this workflow");
  runs_cmd->add_option("--status", workflow_flags.runs_status, "only runs in this state (running, succeeded, failed...)");
  runs_cmd->add_flag("--json", workflow_flags.json, "print the raw API answer");

  MetricsFlags metrics_flags;
  auto* metrics = cli.add_subcommand("metrics", "success metrics from stored data: approval, tool success, "
                                                 "completion rates, latency, progress, memory freshness");
  metrics->add_option("--since", metrics_flags.since, "only the last 7d, 24h, 30m, 2w ... (default: all)");
  metrics->add_flag("--json", metrics_flags.json, "print the raw answer of GET /api/metrics/summary");
  metrics->add_flag("--explain", metrics_flags.explain, "say how each metric is computed");

  bool tools_json = false;
  auto* tools = cli.add_subcommand("tools", "list the tools agents can use and the health of their servers");
  tools->add_flag("--json", tools_json, "print the raw answer of GET /api/tools");
  bool gaps_json = false;
  auto* tools_gaps = tools->add_subcommand("gaps", "tool-gap reports: what agents could not do with their tools");
  tools_gaps->add_flag("--json", gaps_json, "print the raw answer of GET /api/tool-gaps");

  bool schedules_json = false;
  auto* schedules = cli.add_subcommand("schedules", "scheduled workflows: next and last fire");
  schedules->add_flag("--json", schedules_json, "print the raw answer of GET /api/schedules");

  ApprovalFlags approval_flags;
  auto* approvals = cli.add_subcommand("approvals", "tool calls waiting for your approval");
  approvals->add_flag("--all", approval_flags.all, "every approval, decided ones too (newest first)");
  approvals->add_flag("--json", approval_flags.json, "print the raw answer of GET /api/approvals");
  auto* approve = cli.add_subcommand("approve", "approve a waiting tool call: it runs once, as shown");
  auto* deny = cli.add_subcommand("deny", "deny a waiting tool call: it does not run");
  for (auto* sub : {approve, deny}) {
    sub->add_option("id", approval_flags.id, "the approval id (from `steward approvals` or the chat)")->required();
    sub->add_option("--note", approval_flags.note, "why, recorded with the decision");
  }

  app::MemorySearchFlags memory_flags;
  std::vector<std::string> memory_words;
  auto* memory = cli.add_subcommand("memory", "long-term memory");
  memory->require_subcommand(1);
  auto* memory_search = memory->add_subcommand("search", "hybrid search of notes, documents and conversations");
  memory_search->add_option("query", memory_words, "what to look for (dates and key:value terms become filters)")
      ->required();
  memory_search->add_flag("--explain", memory_flags.explain, "show the plan: paths, filters, SQL and timings");
  memory_search->add_option("--limit", memory_flags.limit, "most results (1-100, default 10)");
  memory_search->add_option("--mode", memory_flags.mode, "auto (default), hybrid, fulltext or vector");
  memory_search->add_flag("--json", memory_flags.json, "print the raw answer of GET /api/memory/search");

  app::IngestCommandOptions ingest_options;
  bool ingest_no_recursive = false;
  auto* ingest = cli.add_subcommand("ingest", "add files and folders to memory (unchanged files are skipped)");
  ingest->add_option("paths", ingest_options.paths, "files or folders (md, txt, html, pdf, docx, csv, json)")
      ->required();
  ingest->add_flag("--no-recursive", ingest_no_recursive, "do not descend into subfolders");
  ingest->add_option("--include", ingest_options.include, "only files matching this glob (repeatable)");
  ingest->add_option("--exclude", ingest_options.exclude, "skip files and folders matching this glob (repeatable)");
  ingest->add_flag("-q,--quiet", ingest_options.quiet, "print only failures and the summary");

  app::ExportWindmillOptions export_options;
  std::string export_dir;
  auto* export_cmd = cli.add_subcommand("export", "export a workflow to another system");
  export_cmd->require_subcommand(1);
  auto* export_windmill = export_cmd->add_subcommand(
      "windmill", "write a Windmill workspace folder (OpenFlow flow + Python scripts calling Steward's API)");
  export_windmill->add_option("workflow", export_options.workflow, "the workflow's name under `workflows:`")->required();
  export_windmill->add_option("dir", export_dir, "the folder to write (created if missing)")->required();
  export_windmill->add_option("--folder", export_options.folder, "the Windmill folder, f/<folder>/ (default: steward)");
  export_windmill->add_option("--config", config_flag, "configuration file");

  for (auto* sub : {serve, chat, doctor, sessions, trace, run_cmd, runs_cmd, metrics, tools, schedules, tools_gaps, approvals, approve, deny, memory_search, ingest}) {
    sub->add_option("--config", config_flag, "configuration file");
  }
  CLI11_PARSE(cli, argc, argv);

  const bool is_serve = serve->parsed();
  telemetry::SetupLogging(log_format && std::string(log_format) == "json" ? telemetry::LogFormat::kJson
                                                                            : telemetry::LogFormat::kText,
                          log_level && *log_level ? log_level : (is_serve ? "info" : "warn"));
  if (is_serve) return Serve(config_flag, listen);
  if (chat->parsed()) return Chat(chat_flags);
  if (sessions->parsed()) return Sessions(config_flag);
  if (trace->parsed()) return Trace(config_flag, trace_run);
  if (run_cmd->parsed()) return RunWorkflow(config_flag, workflow_flags);
  if (runs_cmd->parsed()) return Runs(config_flag, workflow_flags);
  if (metrics->parsed()) return Metrics(config_flag, metrics_flags);
  if (tools_gaps->parsed()) return ToolGaps(config_flag, gaps_json);
  if (tools->parsed()) return Tools(config_flag, tools_json);
  if (schedules->parsed()) return Schedules(config_flag, schedules_json);
  if (approvals->parsed()) return Approvals(config_flag, approval_flags, 0);
  if (approve->parsed()) return Approvals(config_flag, approval_flags, 1);
  if (deny->parsed()) return Approvals(config_flag, approval_flags, -1);
  if (memory_search->parsed()) return MemorySearch(config_flag, memory_flags, memory_words);
  if (ingest->parsed()) return Ingest(config_flag, ingest_options, ingest_no_recursive);
  if (export_windmill->parsed()) {
    auto config = LoadConfig(config_flag, app::ResolveHome());
    if (!config.ok()) return Fail(config.error());
    export_options.dir = export_dir;
    return app::RunExportWindmill(*config, export_options, std::cout, std::cerr);
  }
  if (doctor->parsed()) return app::RunDoctor(config_flag, std::cout);
  return 0;
}
