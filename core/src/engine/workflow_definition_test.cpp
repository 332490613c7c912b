#include "engine/workflow_definition.hpp"

#include <gtest/gtest.h>

#include "engine/template.hpp"

namespace steward::engine {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

WorkflowEnvironment Env() {
  return WorkflowEnvironment{{"researcher", "writer"}, {"offline", "gpt"}, {"daily", "child", "other"}};
}

Result<WorkflowDefinition> Parse(const std::string& yaml, const std::string& name = "daily") {
  return ParseWorkflow(yaml, name, "steward.yaml", Env());
}

constexpr const char* kFull = R"yaml(
description: Research and mail a digest
pattern: deterministic_pipeline
agents: [researcher]
schedule: {cron: "0 8 * * *", timezone: Europe/Berlin, missed: catch_up, max_catch_up: 3}
inputs:
  limit: 5
  to: null
  label: "007"
steps:
  - id: fetch
    tool: web.fetch
    input: {url: "https://example.org/top?n=${inputs.limit}", n: "${inputs.limit}", flag: true}
    retry: {max_attempts: 3, backoff: 250ms, multiplier: 1.5, max_backoff: 1m30s}
    timeout: 30s
    on_error: notify
  - id: each
    for_each: "${steps.fetch.output.items}"
    max_parallel: 4
    steps:
      - id: summarize
        agent: researcher
        message: "Summarize ${item.title} (#${index})"
        limits: {cpu_seconds: 60, memory_mb: 512}
      - id: store
        tool: memory.save
        input: {text: "${steps.summarize.output}"}
  - id: check
    kind: branch
    cases:
      - when: "length(${steps.each.output}) > 0 and inputs.limit >= 1"
        steps:
          - {id: ok, kind: approval, message: "Send to ${inputs.to}?", timeout: 24h}
    otherwise:
      - {id: nothing, model: offline, prompt: "Say there was nothing", system: "Be brief"}
  - id: send
    tool: email.send
    input: {to: "${inputs.to}", body: "${steps.check.output}"}
    idempotency_key: "${run.id}/send"
    fallback: save_draft
  - {id: sub, workflow: child, input: {topic: x}}
handlers:
  - {id: notify, tool: email.send, input: {subject: "failed: ${error.step}: ${error.message} ${steps.fetch.output}"}}
  - {id: save_draft, tool: email.draft, retry: 2}
output: "${steps.send.output}"
)yaml";

TEST(ParseWorkflow, ReadsEveryKindAndField) {
  auto r = Parse(kFull);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const WorkflowDefinition& w = *r;
  EXPECT_EQ(w.name, "daily");
  EXPECT_EQ(w.source, "steward.yaml");
  EXPECT_EQ(w.description, "Research and mail a digest");
  EXPECT_EQ(w.pattern, "deterministic_pipeline");
  EXPECT_EQ(w.orchestrator, "steward");
  EXPECT_EQ(w.agents, std::vector<std::string>{"researcher"});
  ASSERT_TRUE(w.schedule);
  EXPECT_EQ(w.schedule->cron, "0 8 * * *");
  EXPECT_EQ(w.schedule->timezone, "Europe/Berlin");
  EXPECT_EQ(w.schedule->missed, MissedRunPolicy::kCatchUp);
  EXPECT_EQ(w.schedule->max_catch_up, 3);
  EXPECT_EQ(w.trigger, "schedule");
  EXPECT_EQ(w.inputs.at("limit"), json(5));
  EXPECT_TRUE(w.inputs.at("to").is_null());
  EXPECT_EQ(w.inputs.at("label"), json("007"));  // quoted stays a string
  EXPECT_EQ(w.output, "${steps.send.output}");

  ASSERT_EQ(w.steps.size(), 5u);
  const StepDefinition& fetch = w.steps[0];
  EXPECT_EQ(fetch.kind, StepKind::kTool);
  EXPECT_EQ(fetch.tool, "web.fetch");
  EXPECT_EQ(fetch.input["flag"], json(true));
  EXPECT_EQ(fetch.retry.max_attempts, 3);
  EXPECT_EQ(fetch.retry.initial_backoff, 250ms);
  EXPECT_DOUBLE_EQ(fetch.retry.multiplier, 1.5);
  EXPECT_EQ(fetch.retry.max_backoff, 90s);
  EXPECT_EQ(fetch.timeout, std::optional<std::chrono::milliseconds>(30s));
  EXPECT_EQ(fetch.on_error, "notify");
  EXPECT_EQ(fetch.idempotency_key, "");  // the engine's default: <run id>/<step path>

  const StepDefinition& each = w.steps[1];
  EXPECT_EQ(each.kind, StepKind::kForEach);
  EXPECT_EQ(each.items, "${steps.fetch.output.items}");
  EXPECT_EQ(each.max_parallel, 4);
  ASSERT_EQ(each.body.size(), 2u);
  EXPECT_EQ(each.body[0].kind, StepKind::kAgent);
  EXPECT_EQ(each.body[0].agent, "researcher");
  EXPECT_EQ(each.body[0].limits.cpu_seconds, 60);
  EXPECT_EQ(each.body[0].limits.memory_mb, 512);
  EXPECT_EQ(each.body[1].idempotency_key, "");

  const StepDefinition& check = w.steps[2];
  EXPECT_EQ(check.kind, StepKind::kBranch);
  ASSERT_EQ(check.cases.size(), 1u);
  EXPECT_EQ(check.cases[0].steps[0].kind, StepKind::kApproval);
  EXPECT_EQ(check.cases[0].steps[0].timeout, std::optional<std::chrono::milliseconds>(24h));
  ASSERT_EQ(check.otherwise.size(), 1u);
  EXPECT_EQ(check.otherwise[0].kind, StepKind::kLlm);
  EXPECT_EQ(check.otherwise[0].system, "Be brief");

  EXPECT_EQ(w.steps[3].idempotency_key, "${run.id}/send");
  EXPECT_EQ(w.steps[3].fallback, "save_draft");
  EXPECT_EQ(w.steps[4].kind, StepKind::kWorkflow);
  EXPECT_EQ(w.steps[4].workflow, "child");

  ASSERT_EQ(w.handlers.size(), 2u);
  EXPECT_EQ(w.handlers[1].retry.max_attempts, 2);

  ASSERT_NE(FindStep(w, "ok"), nullptr);
  EXPECT_EQ(FindStep(w, "ok")->kind, StepKind::kApproval);
  EXPECT_EQ(FindStep(w, "save_draft")->tool, "email.draft");
  EXPECT_EQ(FindStep(w, "nope"), nullptr);
}

TEST(ParseWorkflow, DefaultsAndWorkerOrchestrators) {
  auto r = Parse("steps: [{id: a, kind: approval, message: ok}]");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->trigger, "manual");
  EXPECT_FALSE(r->schedule);
  EXPECT_EQ(r->steps[0].retry.max_attempts, 1);

  r = Parse("orchestrator: langgraph\ngraph: research\ninputs: {topic: null}\nschedule: '*/5 * * * * *'\n");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->orchestrator, "langgraph");
  EXPECT_EQ(r->graph, "research");
  EXPECT_TRUE(r->steps.empty());
  EXPECT_EQ(r->schedule->timezone, "UTC");
  EXPECT_EQ(r->schedule->missed, MissedRunPolicy::kSkip);
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* context;  // substring of the error's context
  const char* message;  // substring of the error's message
};

class ParseWorkflowRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseWorkflowRejects, NamingFileStepAndField) {
  const BadCase& c = GetParam();
  auto r = Parse(c.yaml);
  ASSERT_FALSE(r.ok()) << c.name;
  EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  EXPECT_NE(r.error().context.find("steward.yaml: "), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().context.find(c.context), std::string::npos) << "context: " << r.error().ToString();
  EXPECT_NE(r.error().message.find(c.message), std::string::npos) << "message: " << r.error().ToString();
}

constexpr const char* kTwo = "steps:\n  - {id: a, tool: t.x}\n  - ";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseWorkflowRejects,
    ::testing::Values(
        BadCase{"retry_not_int", "steps:\n  - {id: a, tool: t.x}\n  - {id: b, tool: t.y}\n  - {id: send, tool: email.send, retry: {max_attempts: x}}",
                "workflows.daily.steps[2] (id 'send').retry.max_attempts (line 4", "expected an integer >= 1, got \"x\""},
        BadCase{"retry_zero", "steps: [{id: a, tool: t.x, retry: 0}]", "steps[0] (id 'a').retry", "expected an integer >= 1, got \"0\""},
        BadCase{"not_a_map", "- a\n- b", "workflows.daily", "expected a workflow definition"},
        BadCase{"unknown_top_key", "stepz: []\nsteps: [{id: a, tool: t.x}]", "workflows.daily.stepz", "did you mean \"steps\""},
        BadCase{"no_steps", "description: x", "workflows.daily.steps", "missing steps"},
        BadCase{"empty_steps", "steps: []", "workflows.daily.steps", "at least one step"},
        BadCase{"missing_id", "steps: [{tool: t.x}]", "steps[0].id", "missing id"},
        BadCase{"bad_id", "steps: [{id: 'a b', tool: t.x}]", "steps[0].id", "invalid step id"},
        BadCase{"duplicate_id", "steps:\n  - {id: a, tool: t.x}\n  - {id: a, tool: t.y}", "steps[1] (id 'a').id", "duplicate step id \"a\""},
        BadCase{"duplicate_nested_id",
                "steps:\n  - {id: a, tool: t.x}\n  - {id: e, for_each: '${steps.a.output}', steps: [{id: a, tool: t.y}]}",
                "steps[1] (id 'e').steps[0] (id 'a')", "already used by workflows.daily.steps[0] (id 'a')"},
        BadCase{"duplicate_handler_id", "steps: [{id: a, tool: t.x}]\nhandlers: [{id: a, tool: t.y}]", "handlers[0] (id 'a')", "duplicate step id"},
        BadCase{"unknown_kind", "steps: [{id: a, kind: tol, tool: t.x}]", "steps[0] (id 'a').kind", "unknown step kind \"tol\"; did you mean \"tool\"?"},
        BadCase{"no_kind", "steps: [{id: a, message: hi}]", "steps[0] (id 'a').kind", "missing kind"},
        BadCase{"ambiguous_kind", "steps: [{id: a, agent: researcher, tool: t.x}]", "steps[0] (id 'a')", "both 'agent' and 'tool'"},
        BadCase{"key_of_other_kind", "steps: [{id: a, tool: t.x, prompt: hi, kind: tool}]", "steps[0] (id 'a').prompt", "unknown key \"prompt\" in a tool step"},
        BadCase{"agent_missing_message", "steps: [{id: a, agent: researcher}]", "steps[0] (id 'a').message", "missing message (an agent step needs"},
        BadCase{"unknown_agent", "steps: [{id: a, agent: reseacher, message: hi}]", "steps[0] (id 'a').agent", "did you mean \"researcher\""},
        BadCase{"unknown_workflow_agents", "agents: [nobody]\nsteps: [{id: a, tool: t.x}]", "workflows.daily.agents[0]", "unknown agent \"nobody\""},
        BadCase{"unknown_model", "steps: [{id: a, model: gpt5, prompt: hi}]", "steps[0] (id 'a').model", "unknown model \"gpt5\""},
        BadCase{"llm_missing_prompt", "steps: [{id: a, kind: llm, model: gpt}]", "(id 'a').prompt", "missing prompt"},
        BadCase{"tool_missing_name", "steps: [{id: a, kind: tool}]", "(id 'a').tool", "missing tool"},
        BadCase{"tool_input_not_map", "steps: [{id: a, tool: t.x, input: [1]}]", "(id 'a').input", "expected a mapping"},
        BadCase{"unknown_sub_workflow", "steps: [{id: a, workflow: nightly}]", "(id 'a').workflow", "unknown workflow \"nightly\""},
        BadCase{"approval_needs_message", "steps: [{id: a, kind: approval}]", "(id 'a').message", "missing message"},
        BadCase{"on_error_not_handler", "steps:\n  - {id: a, tool: t.x, on_error: b}\n  - {id: b, tool: t.y}", "(id 'a').on_error",
                "'b' is a step, not a handler"},
        BadCase{"fallback_unknown", "steps: [{id: a, tool: t.x, fallback: nope}]\nhandlers: [{id: h, tool: t.y}]", "(id 'a').fallback",
                "handlers: h"},
        BadCase{"handler_with_on_error", "steps: [{id: a, tool: t.x}]\nhandlers: [{id: h, tool: t.y, on_error: h}]", "handlers[0] (id 'h').on_error",
                "unknown key"},
        BadCase{"bad_duration", "steps: [{id: a, tool: t.x, timeout: 30}]", "(id 'a').timeout", "expected a duration such as"},
        BadCase{"bad_duration_unit", "steps: [{id: a, tool: t.x, timeout: 5 minutes}]", "(id 'a').timeout", "got \"5 minutes\""},
        BadCase{"bad_backoff", "steps: [{id: a, tool: t.x, retry: {max_attempts: 2, backoff: fast}}]", "(id 'a').retry.backoff", "expected a duration"},
        BadCase{"max_backoff_short", "steps: [{id: a, tool: t.x, retry: {backoff: 10s, max_backoff: 1s}}]", "retry.max_backoff", "shorter than"},
        BadCase{"bad_multiplier", "steps: [{id: a, tool: t.x, retry: {multiplier: 0.5}}]", "retry.multiplier", "from 1 to 100"},
        BadCase{"retry_unknown_key", "steps: [{id: a, tool: t.x, retry: {attempts: 2}}]", "retry.attempts", "unknown key"},
        BadCase{"max_parallel_zero", "steps: [{id: a, tool: t.x}, {id: e, for_each: '${steps.a.output}', max_parallel: 0, steps: [{id: b, tool: t.y}]}]",
                "steps[1] (id 'e').max_parallel", "expected an integer >= 1, got \"0\""},
        BadCase{"for_each_literal_items", "steps: [{id: e, items: abc, steps: [{id: b, tool: t.y}]}]", "(id 'e').items", "a template yielding a list"},
        BadCase{"for_each_no_body", "steps: [{id: e, items: '${inputs.x}'}]\ninputs: {x: []}", "(id 'e').steps", "missing steps"},
        BadCase{"branch_no_cases", "steps: [{id: b, kind: branch}]", "(id 'b').cases", "missing cases"},
        BadCase{"branch_case_no_when", "steps: [{id: b, cases: [{steps: [{id: x, tool: t.x}]}]}]", "(id 'b').cases[0].when", "missing when"},
        BadCase{"branch_bad_condition", "steps: [{id: b, cases: [{when: 'inputs.x >', steps: [{id: x, tool: t.x}]}]}]\ninputs: {x: 1}",
                "(id 'b').cases[0].when", "expected a value"},
        BadCase{"limits_bad", "steps: [{id: a, agent: researcher, message: hi, limits: {memory_mb: 1}}]", "(id 'a').limits.memory_mb", ">= 16"},
        BadCase{"limits_on_tool", "steps: [{id: a, tool: t.x, limits: {cpu_seconds: 1}}]", "(id 'a').limits", "unknown key"},
        BadCase{"ref_unknown_step", "steps: [{id: a, tool: t.x, input: {x: '${steps.fetch.output}'}}]", "(id 'a').input.x",
                "refers to step 'fetch', which does not exist"},
        BadCase{"ref_later_step", "steps:\n  - {id: a, tool: t.x, input: {x: '${steps.b.output}'}}\n  - {id: b, tool: t.y}", "(id 'a').input.x",
                "does not run before this point"},
        BadCase{"ref_self", "steps: [{id: a, agent: researcher, message: '${steps.a.output}'}]", "(id 'a').message", "own output"},
        BadCase{"ref_inside_other_branch",
                "steps:\n  - {id: b, cases: [{when: 'true', steps: [{id: x, tool: t.x}]}]}\n  - {id: c, tool: t.y, input: {v: '${steps.x.output}'}}",
                "(id 'c').input.v", "which does not run before this point (steps whose output is available here: b)"},
        BadCase{"ref_body_from_outside",
                "steps:\n  - {id: e, items: '${inputs.l}', steps: [{id: x, tool: t.x}]}\n  - {id: c, tool: t.y, input: {v: '${steps.x.output}'}}\ninputs: {l: [1]}",
                "(id 'c').input.v", "does not run before this point"},
        BadCase{"ref_missing_output_segment", "steps:\n  - {id: a, tool: t.x}\n  - {id: b, tool: t.y, input: {v: '${steps.a.items}'}}", "(id 'b').input.v",
                "expected steps.a.output"},
        BadCase{"ref_unknown_input", "inputs: {limit: 1}\nsteps: [{id: a, tool: t.x, input: {v: '${inputs.limt}'}}]", "(id 'a').input.v",
                "does not declare; did you mean \"limit\"?"},
        BadCase{"ref_item_outside_for_each", "steps: [{id: a, tool: t.x, input: {v: '${item}'}}]", "(id 'a').input.v", "only inside a for_each"},
        BadCase{"ref_unknown_root", "steps: [{id: a, tool: t.x, input: {v: '${input.x}'}}]", "(id 'a').input.v", "did you mean \"inputs\""},
        BadCase{"ref_error_outside_handler", "steps: [{id: a, tool: t.x, input: {v: '${error.message}'}}]", "(id 'a').input.v", "unknown name 'error'"},
        BadCase{"ref_bad_syntax", "steps: [{id: a, tool: t.x, input: {v: 'x ${steps.}'}}]", "(id 'a').input.v", "expected a name after '.'"},
        BadCase{"output_unknown", "steps: [{id: a, tool: t.x}]\noutput: '${steps.b.output}'", "workflows.daily.output", "step 'b'"},
        BadCase{"windmill", "orchestrator: windmill\nsteps: [{id: a, tool: t.x}]", "workflows.daily.orchestrator",
                "Windmill cannot run inside Steward; use orchestrator: steward and export the workflow with `steward export windmill daily DIR`"},
        BadCase{"worker_orchestrator_needs_graph", "orchestrator: langgraph", "workflows.daily.graph", "needs graph:"},
        BadCase{"worker_orchestrator_no_steps", "orchestrator: langgraph\ngraph: g\nsteps: [{id: a, tool: t.x}]", "workflows.daily.steps",
                "steps: are not allowed"},
        BadCase{"steward_with_graph", "graph: g\nsteps: [{id: a, tool: t.x}]", "workflows.daily.graph", "applies only to worker orchestrators"},
        BadCase{"bad_orchestrator", "orchestrator: 'lang graph'\nsteps: [{id: a, tool: t.x}]", "orchestrator", "expected \"steward\" or a worker runner"},
        BadCase{"cron_fields", "schedule: '0 8 * *'\nsteps: [{id: a, tool: t.x}]", "workflows.daily.schedule", "cron"},
        BadCase{"cron_range", "schedule: {cron: '0 24 * * *'}\nsteps: [{id: a, tool: t.x}]", "workflows.daily.schedule.cron", "out of range"},
        BadCase{"bad_timezone", "schedule: {cron: '0 8 * * *', timezone: Mars/Olympus}\nsteps: [{id: a, tool: t.x}]", "workflows.daily.schedule.cron",
                "Mars/Olympus"},
        BadCase{"bad_missed", "schedule: {cron: '0 8 * * *', missed: catchup}\nsteps: [{id: a, tool: t.x}]", "schedule.missed",
                "did you mean \"catch_up\""},
        BadCase{"catch_up_count_without_catch_up", "schedule: {cron: '0 8 * * *', max_catch_up: 2}\nsteps: [{id: a, tool: t.x}]",
                "schedule.max_catch_up", "only with missed: catch_up"},
        BadCase{"schedule_unknown_key", "schedule: {cron: '0 8 * * *', tz: UTC}\nsteps: [{id: a, tool: t.x}]", "schedule.tz", "unknown key"},
        BadCase{"trigger_schedule_without_schedule", "trigger: schedule\nsteps: [{id: a, tool: t.x}]", "workflows.daily.trigger", "needs a schedule"},
        BadCase{"trigger_manual_with_schedule", "trigger: manual\nschedule: '0 8 * * *'\nsteps: [{id: a, tool: t.x}]", "trigger", "conflicts"},
        BadCase{"trigger_unknown", "trigger: webhook\nsteps: [{id: a, tool: t.x}]", "trigger", "expected manual or schedule"},
        BadCase{"invalid_yaml", "steps: [{id: a", "steward.yaml", "invalid YAML"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ParseWorkflow, ChecksTheWholeErrorTextForTheDocumentedExample) {
  auto r = Parse("steps:\n  - {id: a, tool: t.x}\n  - {id: b, tool: t.y}\n  - id: send\n    tool: email.send\n    retry:\n      max_attempts: x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().ToString(),
            "steward.yaml: workflows.daily.steps[2] (id 'send').retry.max_attempts (line 7, column 21): "
            "expected an integer >= 1, got \"x\"");
}

TEST(ParseWorkflow, ReferencesVisibleInNestedScopes) {
  // Inside a for_each body: outer earlier steps, earlier body siblings, item and index.
  // Inside a branch case: outer earlier steps and earlier case siblings; the branch's own
  // output after it.
  auto r = Parse(R"yaml(
inputs: {xs: [1, 2]}
steps:
  - {id: a, tool: t.x}
  - id: e
    items: "${inputs.xs}"
    steps:
      - {id: b, tool: t.x, input: {v: "${steps.a.output} ${item} ${index}"}}
      - {id: c, tool: t.x, input: {v: "${steps.b.output}"}}
  - id: br
    cases:
      - when: "steps.e.output"
        steps:
          - {id: d, tool: t.x}
          - {id: f, tool: t.x, input: {v: "${steps.d.output} ${steps.a.output}"}}
  - {id: g, tool: t.x, input: {v: "${steps.br.output} ${steps.e.output[0]}"}}
)yaml");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
}

TEST(ValidateWorkflowSet, ChecksSubWorkflowInputsAndCycles) {
  auto parent = Parse("steps: [{id: s, workflow: child, input: {topic: x}}]", "daily");
  auto child = Parse("inputs: {topic: null, depth: 1}\nsteps: [{id: t, tool: t.x}]", "child");
  ASSERT_TRUE(parent.ok() && child.ok());
  std::map<std::string, WorkflowDefinition> set{{"daily", *parent}, {"child", *child}};
  EXPECT_TRUE(ValidateWorkflowSet(set).ok());

  auto missing = Parse("steps: [{id: s, workflow: child, input: {depth: 2}}]", "daily");
  set["daily"] = *missing;
  Status st = ValidateWorkflowSet(set);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("requires input 'topic'"), std::string::npos) << st.error().ToString();
  EXPECT_NE(st.error().context.find("workflows.daily step 's'"), std::string::npos) << st.error().ToString();

  auto unknown = Parse("steps: [{id: s, workflow: child, input: {topic: a, tpoic: b}}]", "daily");
  set["daily"] = *unknown;
  st = ValidateWorkflowSet(set);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("input 'tpoic' is not declared"), std::string::npos) << st.error().ToString();

  set["daily"] = *parent;
  set["child"] = *Parse("inputs: {topic: null}\nsteps: [{id: t, workflow: other, input: {}}]", "child");
  set["other"] = *Parse("steps: [{id: u, workflow: child, input: {topic: z}}]", "other");
  st = ValidateWorkflowSet(set);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cycle (child -> other -> child)"), std::string::npos) << st.error().ToString();
}

TEST(ResolveInputs, FillsDefaultsAndRejectsUnknownOrMissing) {
  auto w = Parse("inputs: {to: null, limit: 5}\nsteps: [{id: a, tool: t.x}]");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(ResolveInputs(*w, json{{"to", "me@x"}}).value(), (json{{"to", "me@x"}, {"limit", 5}}));
  auto missing = ResolveInputs(*w, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing required input 'to'"), std::string::npos);
  auto unknown = ResolveInputs(*w, json{{"to", 1}, {"limt", 2}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("did you mean \"limit\""), std::string::npos) << unknown.error().message;
}

TEST(StepKindName, NamesEveryKind) {
  EXPECT_EQ(StepKindName(StepKind::kAgent), "agent");
  EXPECT_EQ(StepKindName(StepKind::kTool), "tool");
  EXPECT_EQ(StepKindName(StepKind::kLlm), "llm");
  EXPECT_EQ(StepKindName(StepKind::kForEach), "for_each");
  EXPECT_EQ(StepKindName(StepKind::kBranch), "branch");
  EXPECT_EQ(StepKindName(StepKind::kApproval), "approval");
  EXPECT_EQ(StepKindName(StepKind::kWorkflow), "workflow");
}

TEST(ParseWorkflow, ParsedTemplatesRenderAgainstARunContext) {
  auto w = Parse(kFull);
  ASSERT_TRUE(w.ok());
  json ctx = {{"inputs", {{"limit", 2}, {"to", "me@example.org"}}},
              {"steps", {{"fetch", {{"output", {{"items", json::array({"x"})}}}}}}},
              {"run", {{"id", "r1"}}}};
  auto input = RenderTemplate(w->steps[0].input, ctx);
  ASSERT_TRUE(input.ok()) << input.error().ToString();
  EXPECT_EQ((*input)["url"], json("https://example.org/top?n=2"));
  EXPECT_EQ((*input)["n"], json(2));
  EXPECT_EQ(RenderTemplateString(w->steps[1].items, ctx).value(), json::array({"x"}));
}

}  // namespace
}  // namespace steward::engine
