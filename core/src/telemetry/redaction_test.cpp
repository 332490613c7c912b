#include "telemetry/redaction.hpp"

#include <gtest/gtest.h>

#include "telemetry/logging.hpp"

namespace steward::telemetry {
namespace {

TEST(IsSecretKey, RecognisesCredentialNamesInEveryCommonSpelling) {
  for (const char* key : {"token", "api_key", "apiKey", "API-KEY", "x-api-key", "apikey", "access_token",
                          "refreshToken", "password", "db_passwd", "client_secret", "Authorization",
                          "http.request.header.authorization", "tool.arguments.api_key", "credentials",
                          "private_key", "session_cookie", "aws_access_key"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
}

TEST(IsSecretKey, LeavesTokenCountsAndOrdinaryKeysAlone) {
  for (const char* key : {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "max_tokens", "query",
                          "keyword", "monkey", "key", "tool.name", "secretary"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(RedactJson, ReplacesSecretValuesAtAnyDepthAndKeepsTheRest) {
  const nlohmann::json in = {{"query", "rust"},
                             {"api_key", "tok-123456789"},
                             {"headers", {{"Authorization", "Basic abc"}, {"accept", "json"}}},
                             {"list", {{{"password", 42}}, "plain"}}};
  const nlohmann::json out = RedactJson(in);
  EXPECT_EQ(out["query"], "rust");
  EXPECT_EQ(out["api_key"], "[REDACTED]");
  EXPECT_EQ(out["headers"]["Authorization"], "[REDACTED]");
  EXPECT_EQ(out["headers"]["accept"], "json");
  EXPECT_EQ(out["list"][0]["password"], "[REDACTED]");
  EXPECT_EQ(out["list"][1], "plain");
}

TEST(RedactJson, ScrubsRegisteredSecretsInsideStringValues) {
  RegisterSecret("sk-registered-secret-777");
  EXPECT_EQ(RedactJson({{"note", "key is sk-registered-secret-777"}})["note"], "key is [REDACTED]");
}

TEST(RedactSpan, RedactsAttributesNameAndStatusMessage) {
  RegisterSecret("sk-span-secret-888888");
  Span span;
  span.name = "call with sk-span-secret-888888";
  span.status_message = "Bearer abcdefghijkl failed";
  span.attributes = {{"token", std::string("abc123456")},
                     {"first_token_ms", 12.5},
                     {"args", std::string(R"({"password": "hunter22", "q": "x"})")},
                     {"not_json", std::string("{broken")},
                     {"count", int64_t{3}}};
  RedactSpan(span);
  EXPECT_EQ(span.name, "call with [REDACTED]");
  EXPECT_EQ(span.status_message, "Bearer [REDACTED] failed");
  EXPECT_EQ(std::get<std::string>(span.attributes.at("token")), "[REDACTED]");
  EXPECT_DOUBLE_EQ(std::get<double>(span.attributes.at("first_token_ms")), 12.5);
  EXPECT_EQ(nlohmann::json::parse(std::get<std::string>(span.attributes.at("args"))),
            (nlohmann::json{{"password", "[REDACTED]"}, {"q", "x"}}));
  EXPECT_EQ(std::get<std::string>(span.attributes.at("not_json")), "{broken");
  EXPECT_EQ(std::get<int64_t>(span.attributes.at("count")), 3);
}

}  // namespace
}  // namespace steward::telemetry
