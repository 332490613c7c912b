#include "engine/windmill_export.hpp"

#include <yaml-cpp/yaml.h>

#include <gtest/gtest.h>

namespace steward::engine {
namespace {

using nlohmann::json;

std::map<std::string, WorkflowDefinition> Workflows() {
  WorkflowEnvironment env{{"researcher"}, {"offline"}, {"daily", "child", "graph"}};
  std::map<std::string, WorkflowDefinition> out;
  auto daily = ParseWorkflow(R"yaml(
description: Daily digest
schedule: {cron: "0 8 * * *", timezone: Europe/Berlin}
inputs: {limit: 3, to: "me@example.org"}
steps:
  - id: fetch
    tool: web.fetch
    input: {url: "https://example.org/?n=${inputs.limit}", raw: true, price: "$${x}"}
    retry: {max_attempts: 3, backoff: 2s, multiplier: 2}
    timeout: 1m30s
    on_error: notify
  - id: each
    for_each: "${steps.fetch.output.items}"
    max_parallel: 4
    steps:
      - {id: summarize, agent: researcher, message: "Summarize ${item.title}"}
      - {id: store, tool: memory.save, input: {text: "${steps.summarize.output.text}"}}
  - id: check
    cases:
      - when: "length(steps.each.output) > 0"
        steps: [{id: ok, kind: approval, message: "Send ${length(steps.each.output)} items?", timeout: 1h}]
    otherwise:
      - {id: nothing, model: offline, prompt: "Nothing today", system: "Be brief"}
  - {id: sub, workflow: child, input: {topic: "${steps.fetch.output.title}"}}
  - {id: research, workflow: graph, input: {topic: x}}
handlers:
  - {id: notify, tool: email.send, input: {to: "${inputs.to}", subject: "failed: ${error.step}", body: "${error.message}"}}
)yaml",
                             "daily", "steward.yaml", env);
  EXPECT_TRUE(daily.ok()) << daily.error().ToString();
  auto child = ParseWorkflow("inputs: {topic: null}\nsteps: [{id: echo, tool: t.echo, input: {t: '${inputs.topic}'}}]",
                             "child", "steward.yaml", env);
  EXPECT_TRUE(child.ok()) << child.error().ToString();
  auto graph = ParseWorkflow("orchestrator: langgraph\ngraph: research\ninputs: {topic: null}", "graph", "steward.yaml", env);
  EXPECT_TRUE(graph.ok()) << graph.error().ToString();
  out.emplace("daily", *daily);
  out.emplace("child", *child);
  out.emplace("graph", *graph);
  return out;
}

const WindmillFile* Find(const WindmillExport& e, const std::string& path) {
  for (const auto& f : e.files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

// The flow.yaml, read back as JSON through a YAML parser (what wmill does).
json ReadYaml(const std::string& text) {
  std::function<json(const YAML::Node&)> conv = [&](const YAML::Node& n) -> json {
    if (n.IsMap()) {
      json o = json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = conv(it->second);
      return o;
    }
    if (n.IsSequence()) {
      json a = json::array();
      for (const auto& i : n) a.push_back(conv(i));
      return a;
    }
    if (n.IsNull()) return nullptr;
    if (n.Tag() == "!") return n.Scalar();
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
    try {
      size_t used = 0;
      long long i = std::stoll(s, &used);
      if (used == s.size()) return i;
    } catch (...) {
    }
    return s;
  };
  return conv(YAML::Load(text));
}

TEST(WindmillExport, WritesFlowsScriptsScheduleAndSubflows) {
  auto all = Workflows();
  auto e = ExportWindmill("daily", all);
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->flows, (std::vector<std::string>{"f/steward/daily", "f/steward/child", "f/steward/graph"}));
  for (const char* path : {"wmill.yaml", "f/steward/daily.flow/flow.yaml", "f/steward/daily.flow/fetch.inline_script.py",
                           "f/steward/daily.flow/summarize.inline_script.py", "f/steward/daily.flow/store.inline_script.py",
                           "f/steward/daily.flow/ok.inline_script.py", "f/steward/daily.flow/nothing.inline_script.py",
                           "f/steward/daily.flow/failure.inline_script.py", "f/steward/daily.schedule.yaml",
                           "f/steward/child.flow/flow.yaml", "f/steward/child.flow/echo.inline_script.py",
                           "f/steward/graph.flow/flow.yaml", "f/steward/graph.flow/run.inline_script.py"}) {
    EXPECT_NE(Find(*e, path), nullptr) << path;
  }

  json flow = ReadYaml(Find(*e, "f/steward/daily.flow/flow.yaml")->content);
  EXPECT_EQ(flow["summary"], "Daily digest");
  const json& mods = flow["value"]["modules"];
  ASSERT_EQ(mods.size(), 5u);

  const json& fetch = mods[0];
  EXPECT_EQ(fetch["id"], "fetch");
  EXPECT_EQ(fetch["value"]["type"], "rawscript");
  EXPECT_EQ(fetch["value"]["language"], "python3");
  EXPECT_EQ(fetch["value"]["content"], "!inline fetch.inline_script.py");
  const json& args = fetch["value"]["input_transforms"]["arguments"];
  EXPECT_EQ(args["type"], "javascript");
  EXPECT_NE(args["expr"].get<std::string>().find("\"https://example.org/?n=\" + "), std::string::npos) << args;
  EXPECT_NE(args["expr"].get<std::string>().find("(flow_input.limit)"), std::string::npos) << args;
  EXPECT_NE(args["expr"].get<std::string>().find("\"price\": \"${x}\""), std::string::npos) << args;
  EXPECT_EQ(fetch["value"]["input_transforms"]["idempotency_key"]["type"], "javascript");
  // Steward waits 2s, 4s; Windmill waits multiplier * seconds^n = 1 * 2^n: 2s, 4s.
  EXPECT_EQ(fetch["retry"], (json{{"exponential", {{"attempts", 2}, {"multiplier", 1}, {"seconds", 2}}}}));
  EXPECT_EQ(fetch["timeout"], (json{{"type", "static"}, {"value", 90}}));

  const json& each = mods[1];
  EXPECT_EQ(each["value"]["type"], "forloopflow");
  EXPECT_EQ(each["value"]["iterator"], (json{{"type", "javascript"}, {"expr", "results.fetch.items"}}));
  EXPECT_EQ(each["value"]["parallel"], true);
  EXPECT_EQ(each["value"]["parallelism"], (json{{"type", "static"}, {"value", 4}}));
  EXPECT_EQ(each["value"]["skip_failures"], false);
  ASSERT_EQ(each["value"]["modules"].size(), 2u);
  EXPECT_NE(each["value"]["modules"][0]["value"]["input_transforms"]["message"]["expr"].get<std::string>().find(
                "flow_input.iter.value.title"),
            std::string::npos);
  EXPECT_EQ(each["value"]["modules"][1]["value"]["input_transforms"]["arguments"]["expr"],
            "({\"text\": results.summarize.text})");

  const json& check = mods[2];
  EXPECT_EQ(check["value"]["type"], "branchone");
  ASSERT_EQ(check["value"]["branches"].size(), 1u);
  EXPECT_EQ(check["value"]["branches"][0]["summary"], "length(steps.each.output) > 0");
  const json& ok = check["value"]["branches"][0]["modules"][0];
  EXPECT_EQ(ok["suspend"], (json{{"required_events", 1}, {"timeout", 3600}}));
  EXPECT_EQ(check["value"]["default"][0]["id"], "nothing");

  EXPECT_EQ(mods[3]["value"]["type"], "flow");
  EXPECT_EQ(mods[3]["value"]["path"], "f/steward/child");
  EXPECT_EQ(mods[3]["value"]["input_transforms"]["topic"], (json{{"type", "javascript"}, {"expr", "results.fetch.title"}}));
  EXPECT_EQ(mods[4]["value"]["input_transforms"]["topic"], (json{{"type", "static"}, {"value", "x"}}));

  const json& failure = flow["value"]["failure_module"];
  EXPECT_EQ(failure["id"], "failure");
  EXPECT_EQ(failure["value"]["content"], "!inline failure.inline_script.py");
  EXPECT_NE(failure["value"]["input_transforms"]["arguments"]["expr"].get<std::string>().find("error.step_id"),
            std::string::npos);

  EXPECT_EQ(flow["schema"]["properties"]["limit"]["type"], "integer");
  EXPECT_EQ(flow["schema"]["properties"]["limit"]["default"], 3);
  EXPECT_EQ(flow["schema"]["properties"]["to"]["type"], "string");

  json schedule = ReadYaml(Find(*e, "f/steward/daily.schedule.yaml")->content);
  EXPECT_EQ(schedule["schedule"], "0 0 8 * * *");
  EXPECT_EQ(schedule["timezone"], "Europe/Berlin");
  EXPECT_EQ(schedule["script_path"], "f/steward/daily");
  EXPECT_EQ(schedule["is_flow"], true);

  const std::string& tool_py = Find(*e, "f/steward/daily.flow/fetch.inline_script.py")->content;
  EXPECT_NE(tool_py.find("TOOL = \"web.fetch\""), std::string::npos);
  EXPECT_NE(tool_py.find("def main(arguments: dict[str, Any], idempotency_key: str = \"\") -> Any:"), std::string::npos);
  EXPECT_NE(tool_py.find("URL_VARIABLE = \"f/steward/steward_url\""), std::string::npos);
  EXPECT_NE(Find(*e, "f/steward/graph.flow/run.inline_script.py")->content.find("WORKFLOW = \"graph\""), std::string::npos);

  // Per-step fallback and several handlers cannot be said in OpenFlow: the export says so.
  bool warned_failure_scope = false;
  for (const auto& w : e->warnings) warned_failure_scope |= w.find("also runs when a step without on_error") != std::string::npos;
  EXPECT_TRUE(warned_failure_scope);
}

TEST(WindmillExport, UnknownWorkflowAndReservedIdsAreErrors) {
  auto all = Workflows();
  auto e = ExportWindmill("nope", all);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kNotFound);
  EXPECT_NE(e.error().message.find("child, daily, graph"), std::string::npos) << e.error().message;

  WorkflowEnvironment env{{}, {}, {"x"}};
  all.emplace("x", *ParseWorkflow("steps: [{id: failure, tool: t.x}]", "x", "s.yaml", env));
  e = ExportWindmill("x", all);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("reserved in Windmill"), std::string::npos);

  WindmillExportOptions bad;
  bad.folder = "a/b";
  EXPECT_FALSE(ExportWindmill("daily", all, bad).ok());
}

TEST(WindmillExport, StringsWithYamlSyntaxReadBackUnchanged) {
  struct Case {
    std::string text;
    bool quoted;  // must be a quoted scalar: plain, a YAML reader would type it (bool, number, null, date)
  };
  const std::vector<Case> cases = {
      {"Summarize: the \"daily\" digest # not a comment", false},
      {"- starts like a list item", false},
      {"line one\nline two\n", false},
      {"ünïcödé ✓ 日本語", false},
      {"'single' quotes and a \\ backslash", false},
      {" leading and trailing space ", false},
      {"!inline not_a_tag.py", false},
      {"{not: a map} [nor, a list] &anchor *alias", false},
      {"key: value", false},
      {"tab\there", false},
      {"", true},
      {"yes", true},
      {"Off", true},
      {"~", true},
      {"5", true},
      {"-1.5e3", true},
      {".inf", true},
      {"2024-01-01", true},
      {"0x1F", true},
  };
  WorkflowDefinition wf;
  wf.name = "special";
  wf.description = cases[0].text + "\n" + cases[3].text;
  for (size_t i = 0; i < cases.size(); ++i) {
    StepDefinition step;
    step.id = "s" + std::to_string(i);
    step.kind = StepKind::kLlm;
    step.model = "offline";
    step.description = cases[i].text;
    step.prompt = cases[i].text;
    step.system = cases[i].text;
    wf.steps.push_back(step);
    wf.inputs["in" + std::to_string(i)] = cases[i].text;
  }
  auto e = ExportWindmill("special", {{"special", wf}});
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  const std::string& text = Find(*e, "f/steward/special.flow/flow.yaml")->content;
  const YAML::Node flow = YAML::Load(text);
  EXPECT_EQ(flow["summary"].as<std::string>(), wf.description) << text;
  const YAML::Node modules = flow["value"]["modules"];
  ASSERT_EQ(modules.size(), cases.size()) << text;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& want = cases[i].text;
    const YAML::Node transforms = modules[i]["value"]["input_transforms"];
    // An empty description gets the default summary, so "" is checked only in the other places.
    if (!want.empty()) EXPECT_EQ(modules[i]["summary"].Scalar(), want) << text;
    const YAML::Node read[] = {transforms["prompt"]["value"], transforms["system"]["value"],
                               flow["schema"]["properties"]["in" + std::to_string(i)]["default"]};
    for (const YAML::Node& node : read) {
      ASSERT_TRUE(node.IsScalar()) << want << "\n" << text;
      EXPECT_EQ(node.Scalar(), want) << text;
      // yaml-cpp tags a quoted scalar "!" and a plain one "?".
      if (cases[i].quoted) EXPECT_EQ(node.Tag(), "!") << want << "\n" << text;
    }
  }
  // Read as typed JSON (true/false/integers untagged), the defaults are still the same strings.
  json schema = ReadYaml(text)["schema"]["properties"];
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(schema["in" + std::to_string(i)]["default"], cases[i].text);
}

TEST(JsonToYaml, QuotesWhatAPlainScalarWouldMisread) {
  json v = {{"a", "plain text"}, {"b", "true"}, {"c", "5"}, {"d", "!inline x.py"}, {"e", "line\nbreak"},
            {"f", json::array({1, "x", json::object({{"k", nullptr}})})}, {"g", json::object()}, {"h", ""}};
  std::string y = JsonToYaml(v);
  EXPECT_NE(y.find("a: plain text\n"), std::string::npos) << y;
  EXPECT_NE(y.find("b: \"true\"\n"), std::string::npos) << y;
  EXPECT_NE(y.find("c: \"5\"\n"), std::string::npos) << y;
  EXPECT_NE(y.find("d: \"!inline x.py\"\n"), std::string::npos) << y;
  EXPECT_EQ(ReadYaml(y), v) << y;
}

}  // namespace
}  // namespace steward::engine
