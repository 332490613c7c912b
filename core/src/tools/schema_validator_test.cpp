#include "tools/schema_validator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const json kRecallSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "query": {"type": "string", "minLength": 1, "maxLength": 10},
    "since": {"type": "string", "format": "date-time"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    "role": {"type": "string", "enum": ["user", "assistant"]},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}
  },
  "required": ["query"],
  "additionalProperties": false
})");

std::string Message(const json& schema, const json& value) {
  Status status = ValidateAgainstSchema(schema, value);
  return status.ok() ? std::string() : status.error().message;
}

TEST(SchemaValidator, AcceptsConformingValue) {
  EXPECT_TRUE(ValidateAgainstSchema(kRecallSchema,
                                    {{"query", "paris"},
                                     {"since", "2024-05-01T09:30:00Z"},
                                     {"limit", 5},
                                     {"role", "user"},
                                     {"tags", {"a", "b"}},
                                     {"note", nullptr}})
                  .ok());
}

TEST(SchemaValidator, MissingRequiredNamesFieldAndType) {
  Status status = ValidateAgainstSchema(kRecallSchema, json::object());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.error().message, "arguments.query: required (string) but missing");
}

TEST(SchemaValidator, WrongTypeNamesPathExpectedAndActual) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"limit", "5"}}),
            "arguments.limit: expected integer, got string \"5\"");
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"limit", 2.5}}),
            "arguments.limit: expected integer, got number 2.5");
  EXPECT_EQ(Message(kRecallSchema, json::array()), "arguments: expected object, got array");
}

TEST(SchemaValidator, IntegralFloatCountsAsInteger) {
  EXPECT_TRUE(ValidateAgainstSchema(kRecallSchema, {{"query", "x"}, {"limit", 5.0}}).ok());
}

TEST(SchemaValidator, NumericBounds) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"limit", 0}}),
            "arguments.limit: must be >= 1, got 0");
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"limit", 51}}),
            "arguments.limit: must be <= 50, got 51");
  const json exclusive = {{"type", "number"}, {"exclusiveMinimum", 0}, {"exclusiveMaximum", 1}};
  EXPECT_FALSE(ValidateAgainstSchema(exclusive, 0).ok());
  EXPECT_FALSE(ValidateAgainstSchema(exclusive, 1).ok());
  EXPECT_TRUE(ValidateAgainstSchema(exclusive, 0.5).ok());
}

TEST(SchemaValidator, StringLengthCountsCodePoints) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", ""}}),
            "arguments.query: must be at least 1 characters long, got 0");
  // Ten characters, twenty bytes: within maxLength 10.
  EXPECT_TRUE(ValidateAgainstSchema(kRecallSchema, {{"query", "éééééééééé"}}).ok());
  EXPECT_THAT(Message(kRecallSchema, {{"query", "ééééééééééé"}}),
              HasSubstr("at most 10 characters long, got 11"));
}

TEST(SchemaValidator, EnumListsOptions) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"role", "bot"}}),
            "arguments.role: expected one of [\"user\",\"assistant\"], got \"bot\"");
}

TEST(SchemaValidator, ItemsReportIndexedPath) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"tags", {"a", 3}}}),
            "arguments.tags[1]: expected string, got integer 3");
  EXPECT_THAT(Message(kRecallSchema, {{"query", "x"}, {"tags", {"a", "b", "c"}}}),
              HasSubstr("at most 2 items, got 3"));
}

TEST(SchemaValidator, AdditionalPropertiesFalseNamesAcceptedOnes) {
  EXPECT_THAT(Message(kRecallSchema, {{"query", "x"}, {"topic", "y"}}),
              HasSubstr("arguments.topic: not an accepted property; accepted: "));
  EXPECT_THAT(Message(kRecallSchema, {{"query", "x"}, {"topic", "y"}}), HasSubstr("query"));
}

TEST(SchemaValidator, AdditionalPropertiesAllowedByDefault) {
  const json open = {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}};
  EXPECT_TRUE(ValidateAgainstSchema(open, {{"a", "x"}, {"b", 1}}).ok());
}

TEST(SchemaValidator, AdditionalPropertiesSchemaApplies) {
  const json schema = {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}};
  EXPECT_EQ(Message(schema, {{"weird key", "x"}}),
            "arguments[\"weird key\"]: expected integer, got string \"x\"");
}

TEST(SchemaValidator, ReportsSeveralViolationsAtOnce) {
  auto violations = FindSchemaViolations(kRecallSchema, {{"limit", 0}, {"role", "bot"}});
  ASSERT_EQ(violations.size(), 3u);
  EXPECT_EQ(violations[0].path, "arguments.query");
}

TEST(SchemaValidator, AnyOfNamesEveryBranch) {
  EXPECT_EQ(Message(kRecallSchema, {{"query", "x"}, {"note", 3}}),
            "arguments.note: expected string or null, got integer 3");
}

TEST(SchemaValidator, TypeListAcceptsEither) {
  const json schema = {{"type", {"string", "null"}}};
  EXPECT_TRUE(ValidateAgainstSchema(schema, nullptr).ok());
  EXPECT_EQ(Message(schema, 1), "arguments: expected string or null, got integer 1");
}

TEST(SchemaValidator, UnknownKeywordsAreIgnored) {
  const json schema = {{"$ref", "#/defs/x"}, {"pattern", "^a$"}};
  EXPECT_TRUE(ValidateAgainstSchema(schema, "zzz").ok());
  EXPECT_TRUE(ValidateAgainstSchema(json::object(), {{"anything", 1}}).ok());
}

TEST(SchemaValidator, DateTimeFormat) {
  EXPECT_THAT(Message(kRecallSchema, {{"query", "x"}, {"since", "yesterday"}}),
              HasSubstr("arguments.since: expected a date-time like"));
  EXPECT_TRUE(IsRfc3339DateTime("2024-05-01T09:30:00Z"));
  EXPECT_TRUE(IsRfc3339DateTime("2024-05-01T09:30:00.123+02:00"));
  EXPECT_TRUE(IsRfc3339DateTime("2024-05-01t09:30:00z"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-05-01"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-13-01T09:30:00Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-05-01T25:30:00Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-05-01T09:30:00"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-05-01T09:30:00.Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2024-05-01T09:30:00+0200"));
}

}  // namespace
}  // namespace steward::tools
