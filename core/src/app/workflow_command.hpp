#pragma once
// `steward run WORKFLOW [--input k=v]...`: starts a workflow run and renders its event stream
// live (step progress, tool calls, tokens, approvals) like `steward chat`; and
// `steward runs [--workflow W] [RUN]`: run history, or one run with its steps.

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace steward::app {

struct RunWorkflowOptions {
  std::string base_url;
  std::string token;
  std::string workflow;
  std::vector<std::string> inputs;  // "key=value"; a value that parses as JSON keeps its type
  bool quiet = false;               // only the output
  bool detach = false;              // start and print the run id, do not stream
};

// "k=v" pairs as a JSON object: `n=3` gives 3, `flag=true` true, `t=hello` "hello",
// `list=[1,2]` [1, 2]. kInvalidArgument for an item without '=' or an empty key.
[[nodiscard]] Result<nlohmann::json> ParseInputPairs(const std::vector<std::string>& pairs);

// Exit status: 0 when the run succeeded, 1 when it failed (the error printed), 2 for bad usage.
int RunWorkflowCommand(const RunWorkflowOptions& options, std::ostream& out, std::ostream& err);

// One run per line (id, workflow, status, started, duration, trigger), or with `run_id` the run
// and its steps (status, attempts, duration, error). `as_json`: the raw API answer.
int RunRunsCommand(const std::string& base_url, const std::string& token, const std::string& workflow,
                   const std::string& status, const std::string& run_id, bool as_json, std::ostream& out,
                   std::ostream& err);

// The lines `steward runs RUN` prints for a GET /api/runs/{id} answer.
[[nodiscard]] std::string RenderRunDetails(const nlohmann::json& run);

}  // namespace steward::app
