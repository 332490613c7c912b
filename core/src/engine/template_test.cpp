#include "engine/template.hpp"

#include <gtest/gtest.h>

namespace steward::engine {
namespace {

using nlohmann::json;

json Context() {
  return json::parse(R"({
    "inputs": {"topic": "rust", "limit": 3, "tags": ["a", "b"], "empty": ""},
    "steps": {
      "fetch": {"output": {"count": 2, "items": [{"title": "one"}, {"title": "two"}], "ok": true}},
      "name": {"output": "Ada"}
    },
    "item": {"title": "one", "score": 7},
    "index": 0,
    "run": {"id": "run-123"}
  })");
}

TEST(RenderTemplate, WholePlaceholderKeepsJsonType) {
  auto ctx = Context();
  EXPECT_EQ(RenderTemplate(json("${inputs.limit}"), ctx).value(), json(3));
  EXPECT_EQ(RenderTemplate(json("${steps.fetch.output.items}"), ctx).value(), ctx["steps"]["fetch"]["output"]["items"]);
  EXPECT_EQ(RenderTemplate(json("${steps.fetch.output.ok}"), ctx).value(), json(true));
  EXPECT_EQ(RenderTemplate(json(" ${inputs.limit}"), ctx).value(), json(" 3"));
  EXPECT_EQ(RenderTemplate(json("${ inputs.limit }"), ctx).value(), json(3));
}

TEST(RenderTemplate, InterpolatesStringsRawAndOtherValuesAsJson) {
  auto ctx = Context();
  EXPECT_EQ(RenderTemplate(json("about ${inputs.topic} (${inputs.limit}) ${inputs.tags}"), ctx).value(),
            json("about rust (3) [\"a\",\"b\"]"));
  EXPECT_EQ(RenderTemplate(json("run ${run.id}/send"), ctx).value(), json("run run-123/send"));
  EXPECT_EQ(RenderTemplate(json("hello ${steps.name.output}"), ctx).value(), json("hello Ada"));
}

TEST(RenderTemplate, IndexesArraysWithBracketsOrDots) {
  auto ctx = Context();
  EXPECT_EQ(RenderTemplate(json("${steps.fetch.output.items[1].title}"), ctx).value(), json("two"));
  EXPECT_EQ(RenderTemplate(json("${steps.fetch.output.items.0.title}"), ctx).value(), json("one"));
  EXPECT_EQ(RenderTemplate(json("${item['title']}"), ctx).value(), json("one"));
  EXPECT_EQ(RenderTemplate(json("${index}"), ctx).value(), json(0));
}

TEST(RenderTemplate, RecursesThroughObjectsAndArraysButNotKeys) {
  auto ctx = Context();
  json in = {{"${inputs.topic}", "${inputs.topic}"}, {"list", {"${index}", 5, nullptr, "x"}}, {"n", 1.5}};
  json want = {{"${inputs.topic}", "rust"}, {"list", {0, 5, nullptr, "x"}}, {"n", 1.5}};
  EXPECT_EQ(RenderTemplate(in, ctx).value(), want);
}

TEST(RenderTemplate, EscapedDollarBraceIsLiteral) {
  auto ctx = Context();
  EXPECT_EQ(RenderTemplate(json("cost $${inputs.topic} ${inputs.topic}"), ctx).value(), json("cost ${inputs.topic} rust"));
  EXPECT_FALSE(HasPlaceholders("only $${escaped}"));
  EXPECT_TRUE(HasPlaceholders("a ${b}"));
  EXPECT_EQ(RenderTemplate(json("price $5 {x}"), ctx).value(), json("price $5 {x}"));
}

TEST(RenderTemplate, MissingReferenceNamesItAndWhatExists) {
  auto ctx = Context();
  auto r = RenderTemplate(json("${steps.fetch.output.cnt}"), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("steps.fetch.output.cnt"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("count, items, ok"), std::string::npos) << r.error().message;

  r = RenderTemplate(json("${steps.send.output}"), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no output of step 'send'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("fetch, name"), std::string::npos) << r.error().message;

  r = RenderTemplate(json("${steps.fetch.output.items[5]}"), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("2 element(s)"), std::string::npos) << r.error().message;

  r = RenderTemplate(json("${inputs.topic.x}"), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is a string"), std::string::npos) << r.error().message;

  r = RenderTemplate(json({{"a", {{"b", {"ok", "${nope}"}}}}}), ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "a.b[1]");
  EXPECT_NE(r.error().message.find("the context has index, inputs, item, run, steps"), std::string::npos) << r.error().message;
}

TEST(RenderTemplate, SyntaxErrorsNamePosition) {
  auto ctx = Context();
  for (const char* bad : {"${", "${}", "${inputs.}", "${inputs.topic", "${a[}", "${'open}", "${foo(1)}"}) {
    auto r = RenderTemplate(json(bad), ctx);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("position"), std::string::npos) << bad << ": " << r.error().message;
  }
}

struct ConditionCase {
  const char* expr;
  bool want;
};

TEST(EvaluateCondition, Table) {
  auto ctx = Context();
  const ConditionCase cases[] = {
      {"${steps.fetch.output.count} > 0", true},
      {"steps.fetch.output.count > 0", true},
      {"steps.fetch.output.count >= 2", true},
      {"steps.fetch.output.count < 2", false},
      {"steps.fetch.output.count <= 2.0", true},
      {"steps.fetch.output.count == 2", true},
      {"steps.fetch.output.count != 2", false},
      {"inputs.topic == 'rust'", true},
      {"inputs.topic == \"go\"", false},
      {"inputs.topic < 'zig'", true},
      {"item.score > -1", true},
      {"length(steps.fetch.output.items) == 2", true},
      {"length(${steps.fetch.output.items}) > 5", false},
      {"length(inputs.topic) == 4", true},
      {"length(null) == 0", true},
      {"steps.fetch.output.ok", true},
      {"inputs.empty", false},
      {"not inputs.empty", true},
      {"not not inputs.topic", true},
      {"inputs.limit > 1 and inputs.topic == 'rust'", true},
      {"inputs.limit > 5 and inputs.topic == 'rust'", false},
      {"inputs.limit > 5 or inputs.topic == 'rust'", true},
      {"inputs.limit > 5 or (inputs.limit < 1 and true)", false},
      {"not (inputs.limit > 5) and (false or true)", true},
      {"null == null", true},
      {"steps.fetch.output.items[0].title == 'one'", true},
      {"inputs.tags == inputs.tags", true},
      {"0", false},
      {"1.5", true},
      {"true and false", false},
      // `or` short-circuits: the missing reference is never evaluated.
      {"true or steps.missing.output", true},
  };
  for (const auto& c : cases) {
    auto r = EvaluateCondition(c.expr, ctx);
    ASSERT_TRUE(r.ok()) << c.expr << ": " << r.error().ToString();
    EXPECT_EQ(*r, c.want) << c.expr;
  }
}

TEST(EvaluateCondition, ErrorsAreValues) {
  auto ctx = Context();
  const char* bad[] = {
      "",                                    // empty
      "inputs.limit >",                      // missing operand
      "inputs.limit > 'x'",                  // mismatched ordering
      "steps.missing.output.count > 0",      // unknown step
      "inputs.limit > 1 extra",              // trailing text
      "(inputs.limit > 1",                   // unbalanced
      "length(inputs.limit)",                // length of a number
      "size(inputs.tags)",                   // unknown function
      "inputs.limit = 3",                    // '=' is not an operator
  };
  for (const char* expr : bad) {
    auto r = EvaluateCondition(expr, ctx);
    EXPECT_FALSE(r.ok()) << expr;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << expr;
    }
  }
  auto r = EvaluateCondition("inputs.limit > 'x'", ctx);
  EXPECT_NE(r.error().message.find("cannot order a number (3) and a string (\"x\")"), std::string::npos)
      << r.error().message;
}

TEST(ParseReferences, CollectsReferencesWithoutContext) {
  auto refs = ParseTemplateReferences("a ${steps.fetch.output.items[0]} b ${inputs.x} $${not.this}");
  ASSERT_TRUE(refs.ok()) << refs.error().ToString();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].text, "steps.fetch.output.items[0]");
  EXPECT_EQ((*refs)[0].path, (std::vector<std::string>{"steps", "fetch", "output", "items", "0"}));
  EXPECT_EQ((*refs)[1].path, (std::vector<std::string>{"inputs", "x"}));

  auto cond = ParseConditionReferences("length(steps.a.output) > 0 and ${inputs.b} == 'x' or not item");
  ASSERT_TRUE(cond.ok()) << cond.error().ToString();
  ASSERT_EQ(cond->size(), 3u);
  EXPECT_EQ((*cond)[0].path[1], "a");
  EXPECT_EQ((*cond)[1].text, "inputs.b");
  EXPECT_EQ((*cond)[2].text, "item");

  EXPECT_FALSE(ParseTemplateReferences("${steps.}").ok());
  EXPECT_FALSE(ParseConditionReferences("a >").ok());
  EXPECT_TRUE(ParseTemplateReferences("no placeholders").value().empty());
}

TEST(IsTruthy, Table) {
  EXPECT_FALSE(IsTruthy(json(nullptr)));
  EXPECT_FALSE(IsTruthy(json(false)));
  EXPECT_FALSE(IsTruthy(json(0)));
  EXPECT_FALSE(IsTruthy(json(0.0)));
  EXPECT_FALSE(IsTruthy(json("")));
  EXPECT_FALSE(IsTruthy(json::array()));
  EXPECT_FALSE(IsTruthy(json::object()));
  EXPECT_TRUE(IsTruthy(json(1)));
  EXPECT_TRUE(IsTruthy(json("x")));
  EXPECT_TRUE(IsTruthy(json::array({1})));
}

}  // namespace
}  // namespace steward::engine

namespace steward::engine {
namespace {

Result<std::string> MapRef(const TemplateReference& ref) {
  if (ref.path[0] == "inputs") return "flow_input." + ref.path[1];
  if (ref.path[0] == "steps") {
    std::string out = "results." + ref.path[1];
    for (size_t i = 3; i < ref.path.size(); ++i) out += "[" + nlohmann::json(ref.path[i]).dump() + "]";
    return out;
  }
  return MakeError(ErrorCode::kInvalidArgument, "cannot map " + ref.text);
}

TEST(TemplateToJavaScript, WholePlaceholderIsTheValueAndMixedTextIsConcatenated) {
  EXPECT_EQ(TemplateToJavaScript("${inputs.x}", MapRef).value(), "flow_input.x");
  EXPECT_EQ(TemplateToJavaScript("${steps.a.output.items[0]}", MapRef).value(), "results.a[\"items\"][\"0\"]");
  EXPECT_EQ(TemplateToJavaScript("plain", MapRef).value(), "\"plain\"");
  std::string mixed = TemplateToJavaScript("n=${inputs.x}!", MapRef).value();
  EXPECT_EQ(mixed.rfind("\"n=\" + ((v) => typeof v === 'string'", 0), 0u) << mixed;
  EXPECT_NE(mixed.find("(flow_input.x) + \"!\""), std::string::npos) << mixed;
  EXPECT_FALSE(TemplateToJavaScript("${item}", MapRef).ok());
  EXPECT_FALSE(TemplateToJavaScript("${", MapRef).ok());
}

TEST(ConditionToJavaScript, UsesStewardTruthinessAndJsonEquality) {
  std::string js = ConditionToJavaScript("length(steps.a.output) > 0 and not inputs.b == 'x'", MapRef).value();
  EXPECT_NE(js.find("Object.keys(v).length : v.length))(results.a)) > (0))"), std::string::npos) << js;
  EXPECT_NE(js.find("JSON.stringify(flow_input.b) === JSON.stringify(\"x\")"), std::string::npos) << js;
  EXPECT_EQ(js.rfind("((v) => !(v === null", 0), 0u) << js;
}

}  // namespace
}  // namespace steward::engine
