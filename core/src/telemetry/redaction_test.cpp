#include "telemetry/redaction.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

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

// The rule as first written (words built as strings), to check the allocation-free one against.
bool ReferenceIsSecretKey(std::string_view key) {
  std::vector<std::string> words;
  std::string current;
  char previous = 0;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      if (std::isupper(u) && std::islower(static_cast<unsigned char>(previous)) && !current.empty()) {
        words.push_back(std::move(current));
        current.clear();
      }
      current.push_back(static_cast<char>(std::tolower(u)));
    }
    previous = c;
  }
  if (!current.empty()) words.push_back(std::move(current));
  for (size_t i = 0; i < words.size(); ++i) {
    for (const char* w : {"token", "password", "passwd", "secret", "authorization", "credential", "credentials",
                          "cookie", "apikey"}) {
      if (words[i] == w) return true;
    }
    if (words[i] == "key" && i > 0 && (words[i - 1] == "api" || words[i - 1] == "private" || words[i - 1] == "access")) {
      return true;
    }
  }
  return false;
}

TEST(IsSecretKey, AgreesWithTheRuleAsFirstWritten) {
  for (const char* key : {"", "key", "api", "apiKey", "APIKey", "ApiKEY", "apiKEY", "aPiKey", "x--api__key", "key_api",
                          "Api2Key", "api2key", "token2", "tokens", "myAPIKey", "myApiKey", "accessKey", "ACCESS_KEY",
                          "privateKey", "private.key", "PrivateKeyId", "SessionCookie", "sessioncookie", "Pass_Word",
                          "passWord", "PASSWD", "db.passwd.hash", "tool.arguments.apikey", "keyApi", "apiKeys",
                          "\xc3\xa9token", "t\xc3\xa9oken", "gen_ai.usage.input_tokens", "xToken", "XTOKEN", "x_Token_y",
                          "authorizationHeader", "credentialsFile", "secret_", "_secret", "Secret2"}) {
    EXPECT_EQ(IsSecretKey(key), ReferenceIsSecretKey(key)) << key;
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

TEST(RedactSpan, FindsSecretKeysSpelledWithEscapes) {
  // "\u0074oken" is "token": the text has no credential word, only its escape.
  const std::string text = R"({"\u0074oken": "abc123456", "q": "x"})";
  ASSERT_NE(text.find("\\u0074"), std::string::npos);
  Span span;
  span.attributes = {{"args", text}};
  RedactSpan(span);
  EXPECT_EQ(nlohmann::json::parse(std::get<std::string>(span.attributes.at("args"))),
            (nlohmann::json{{"token", "[REDACTED]"}, {"q", "x"}}));
}

TEST(RedactSpan, ScrubsARegisteredSecretUsedAsAKeyOfARewrittenDocument) {
  RegisterSecret("sk-key-position-secret-4242");
  Span span;
  span.attributes = {{"args", std::string(R"({"password": "hunter22", "sk-key-position-secret-4242": 1})")}};
  RedactSpan(span);
  const std::string args = std::get<std::string>(span.attributes.at("args"));
  EXPECT_EQ(args.find("sk-key-position-secret-4242"), std::string::npos) << args;
  EXPECT_EQ(args.find("hunter22"), std::string::npos) << args;
}

TEST(RedactSpan, LeavesADocumentWithNothingToRedactAsWritten) {
  // Not parsed and written again: the exact text, spacing and key order included.
  const std::string text = R"({"q":  "rust", "a": [1, 2]})";
  Span span;
  span.attributes = {{"args", text}};
  RedactSpan(span);
  EXPECT_EQ(std::get<std::string>(span.attributes.at("args")), text);
}

}  // namespace
}  // namespace steward::telemetry
