#include "app/workflow_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/approvals_command.hpp"
#include "app/chat_client.hpp"
#include "app/curl_handles.hpp"
#include "app/sse_client.hpp"

namespace steward::app {

namespace {

using Json = nlohmann::json;

struct StreamState {
  const RunWorkflowOptions* options = nullptr;
  std::ostream* err = nullptr;
  bool at_line_start = true;
  Json done;
  Json failure;
  std::string run_id;
};

void Newline(StreamState& s) {
  if (!s.at_line_start) {
    *s.err << "\n";
    s.at_line_start = true;
  }
}

void Progress(StreamState& s, const std::string& line) {
  if (s.options->quiet) return;
  Newline(s);
  *s.err << "  · " << line << std::endl;
}

void Render(StreamState& s, const models::detail::SseEvent& ev) {
  Json data = Json::parse(ev.data, nullptr, false);
  if (data.is_discarded()) return;
  if (s.run_id.empty()) s.run_id = data.value("run_id", "");
  if (ev.event == "session") {
    Progress(s, "run " + s.run_id + " of " + data.value("workflow", std::string()) + " (trace " +
                    data.value("trace_id", std::string()) + ")");
  } else if (ev.event == "status") {
    Progress(s, data.value("text", std::string()));
  } else if (ev.event == "tool_call") {
    Progress(s, "→ " + data.value("tool", std::string("tool")) + " " + data.value("arguments", Json::object()).dump());
  } else if (ev.event == "tool_result") {
    Progress(s, std::string(data.value("ok", false) ? "← " : "✗ ") + data.value("tool", std::string("tool")) + ": " +
                    data.value("summary", std::string()));
  } else if (ev.event == "approval_required") {
    Newline(s);
    HandleApprovalRequired(s.options->base_url, s.options->token, data, isatty(STDIN_FILENO) != 0, std::cin, stderr);
  } else if (ev.event == "approval_resolved") {
    Progress(s, "approval " + data.value("approval_id", std::string()) + ": " + data.value("status", std::string()) +
                    " by " + data.value("by", std::string()));
  } else if (ev.event == "token") {
    if (s.options->quiet) return;
    const std::string text = data.value("text", "");
    *s.err << text << std::flush;
    if (!text.empty()) s.at_line_start = text.back() == '\n';
  } else if (ev.event == "done") {
    Newline(s);
    s.done = data;
  } else if (ev.event == "error") {
    Newline(s);
    s.failure = data;
  }
}

std::string OutputText(const Json& output) {
  if (output.is_string()) return output.get<std::string>();
  if (output.is_object() && output.contains("text") && output["text"].is_string() && output.size() <= 2) {
    return output["text"].get<std::string>();
  }
  return output.dump(2);
}

std::string Shorten(std::string s, size_t n) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  if (s.size() > n) s = s.substr(0, n) + "…";
  return s;
}

std::string Ms(double ms) {
  char buf[32];
  if (ms >= 10000) {
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  }
  return buf;
}

}  // namespace

Result<Json> ParseInputPairs(const std::vector<std::string>& pairs) {
  Json out = Json::object();
  for (const auto& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "expected --input KEY=VALUE, got \"" + pair + "\"", "--input");
    }
    const std::string value = pair.substr(eq + 1);
    Json parsed = Json::parse(value, nullptr, false);
    out[pair.substr(0, eq)] = parsed.is_discarded() ? Json(value) : parsed;
  }
  return out;
}

int RunWorkflowCommand(const RunWorkflowOptions& options, std::ostream& out, std::ostream& err) {
  auto inputs = ParseInputPairs(options.inputs);
  if (!inputs.ok()) {
    err << "error: " << inputs.error().ToString() << "\n";
    return 2;
  }
  const Json body = {{"inputs", *inputs}, {"stream", !options.detach}, {"trigger", "cli"}};
  const std::string path = "/api/workflows/" + UrlEscape(options.workflow) + "/runs";
  StreamState state;
  state.options = &options;
  state.err = &err;
  auto response = PostForEvents({options.base_url, path, options.token, body.dump()},
                                [&](const models::detail::SseEvent& ev) { Render(state, ev); });
  if (!response.ok()) {
    err << "error: " << response.error().ToString() << "\n";
    return 1;
  }
  if (!response->streamed) {
    const long status = response->status;
    Json answer = Json::parse(response->body, nullptr, false);
    if (status == 202 && answer.is_object()) {
      out << answer.value("run_id", "") << "\n";
      return 0;
    }
    err << "error: " << ErrorFromAnswer(status, response->body, "").ToString() << "\n";
    return status == 400 || status == 404 ? 2 : 1;
  }
  if (!state.done.is_null()) {
    out << OutputText(state.done.value("output", Json(nullptr))) << "\n";
    if (!options.quiet) {
      err << "✓ " << options.workflow << " succeeded in " << Ms(state.done.value("duration_ms", 0.0)) << " (run "
          << state.run_id << "; steward runs " << state.run_id << ")\n";
    }
    return 0;
  }
  if (!state.failure.is_null()) {
    const std::string step = state.failure.value("step", std::string());
    err << "✗ " << options.workflow << " " << state.failure.value("status", std::string("failed"))
        << (step.empty() ? "" : " at step " + step) << ": " << state.failure.value("message", std::string()) << " (run "
        << state.run_id << ")\n";
    return 1;
  }
  err << "error: the stream ended before the run did (run " << state.run_id << "; see steward runs " << state.run_id
      << ")\n";
  return 1;
}

std::string RenderRunDetails(const Json& run) {
  std::ostringstream o;
  o << "run " << run.value("id", "") << "  " << run.value("workflow", std::string()) << "  "
    << run.value("status", "") << "  " << Ms(run.value("duration_ms", 0.0)) << "  trigger "
    << run.value("trigger", std::string()) << "\n";
  if (run.contains("input") && !run["input"].is_null()) o << "  input:  " << Shorten(run["input"].dump(), 200) << "\n";
  if (run.contains("output") && !run["output"].is_null()) o << "  output: " << Shorten(OutputText(run["output"]), 200) << "\n";
  if (run.contains("error") && run["error"].is_object()) o << "  error:  " << run["error"].value("message", "") << "\n";
  if (run.contains("steps") && run["steps"].is_array()) {
    o << "  steps:\n";
    for (const auto& s : run["steps"]) {
      const std::string status = s.value("status", "");
      const char* mark = status == "succeeded" ? "✓" : status == "failed" ? "✗" : "…";
      o << "    " << mark << " " << s.value("path", "") << " [" << s.value("kind", "") << "] " << status << ", "
        << Ms(s.value("duration_ms", 0.0));
      const int attempts = s.value("attempts", 0);
      if (attempts > 1) o << ", " << attempts << " attempts";
      // A step run by a graph runner (LangGraph) says how many times its loop went round.
      if (const Json* data = s.contains("output") && s["output"].is_object() && s["output"].contains("data")
                                 ? &s["output"]["data"]
                                 : nullptr;
          data != nullptr && data->is_object() && data->contains("iterations") && (*data)["iterations"].is_number()) {
        const int iterations = (*data)["iterations"].get<int>();
        o << ", " << data->value("graph", std::string("graph")) << " " << iterations
          << (iterations == 1 ? " iteration" : " iterations");
      }
      if (s.contains("error") && s["error"].is_object()) o << "  — " << Shorten(s["error"].value("message", ""), 160);
      o << "\n";
    }
  }
  return o.str();
}

int RunRunsCommand(const std::string& base_url, const std::string& token, const std::string& workflow,
                   const std::string& status, const std::string& run_id, bool as_json, std::ostream& out,
                   std::ostream& err) {
  if (!run_id.empty()) {
    auto run = GetJson(base_url, token, "/api/runs/" + run_id);
    if (!run.ok()) {
      err << "error: " << run.error().ToString() << "\n";
      return 1;
    }
    if (as_json) {
      out << run->dump(2) << "\n";
    } else {
      out << RenderRunDetails(*run);
    }
    return 0;
  }
  std::string path = "/api/runs?limit=50";
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) path += std::string("&") + key + "=" + UrlEscape(value);
  };
  add("workflow", workflow);
  add("status", status);
  auto runs = GetJson(base_url, token, path);
  if (!runs.ok()) {
    err << "error: " << runs.error().ToString() << "\n";
    return 1;
  }
  if (as_json) {
    out << runs->dump(2) << "\n";
    return 0;
  }
  const Json list = runs->value("runs", Json::array());
  if (list.empty()) {
    out << "no workflow runs" << (workflow.empty() ? "" : " of " + workflow) << "\n";
    return 0;
  }
  for (const auto& r : list) {
    out << r.value("id", "") << "  " << r.value("workflow", std::string()) << "  " << r.value("status", "") << "  "
        << r.value("started_at", "") << "  " << Ms(r.value("duration_ms", 0.0)) << "  " << r.value("trigger", std::string())
        << "\n";
  }
  return 0;
}

}  // namespace steward::app
