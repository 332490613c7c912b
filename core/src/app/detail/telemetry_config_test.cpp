#include "app/detail/telemetry_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Result<Config> Load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  const EnvLookup lookup = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigText(yaml, "steward.yaml", "/nonexistent-steward-dir", lookup);
}

TEST(TelemetryConfig, DefaultsKeepEveryTraceAndExportNowhere) {
  const Result<Config> config = Load("server: {listen: 127.0.0.1:8377}\n");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const telemetry::TelemetryConfig& t = config->telemetry;
  EXPECT_TRUE(t.enabled);
  EXPECT_TRUE(t.otlp_endpoint.empty());
  EXPECT_EQ(t.otlp_protocol, telemetry::OtlpProtocol::kHttpProtobuf);  // the OTLP spec's default
  EXPECT_DOUBLE_EQ(t.sample_ratio, 1.0);
  EXPECT_EQ(t.service_name, "steward");
  EXPECT_EQ(t.log_format, "text");
}

TEST(TelemetryConfig, ReadsEveryField) {
  const Result<Config> config = Load(R"(
telemetry:
  enabled: false
  otlp_endpoint: http://127.0.0.1:4318/
  otlp_headers: {Authorization: "Bearer ${COLLECTOR_KEY}", x-team: core}
  otlp_protocol: http/json
  sample_ratio: 0.25
  service_name: steward-home
  log_format: json
)",
                                     {{"COLLECTOR_KEY", "ck-123456"}});
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const telemetry::TelemetryConfig& t = config->telemetry;
  EXPECT_FALSE(t.enabled);
  EXPECT_EQ(t.otlp_endpoint, "http://127.0.0.1:4318");
  EXPECT_EQ(t.otlp_headers.at("Authorization"), "Bearer ck-123456");
  EXPECT_EQ(t.otlp_headers.at("x-team"), "core");
  EXPECT_EQ(t.otlp_protocol, telemetry::OtlpProtocol::kHttpJson);
  EXPECT_DOUBLE_EQ(t.sample_ratio, 0.25);
  EXPECT_EQ(t.service_name, "steward-home");
  EXPECT_EQ(t.log_format, "json");
}

TEST(TelemetryConfig, RejectsBadValuesNamingTheKeyAndWhatWasExpected) {
  struct Case {
    const char* yaml;
    const char* path;
    const char* expected;
  };
  const Case cases[] = {
      {"telemetry: {sample_ratio: 1.5}", "telemetry.sample_ratio", "between 0 and 1"},
      {"telemetry: {otlp_endpoint: collector:4318}", "telemetry.otlp_endpoint", "http:// or https://"},
      {"telemetry: {log_format: xml}", "telemetry.log_format", "xml"},
      {"telemetry: {enabled: maybe}", "telemetry.enabled", "true or false"},
      {"telemetry: {service_name: \"\"}", "telemetry.service_name", "non-empty"},
      {"telemetry: {otlp: http://x}", "telemetry", "otlp"},
      {"telemetry: {otlp_headers: {\"bad name\": x}}", "telemetry.otlp_headers", "invalid header name"},
      {"telemetry: {otlp_protocol: grpc}", "telemetry.otlp_protocol",
       "unknown OTLP/HTTP protocol \"grpc\" (expected http/protobuf or http/json)"},
      {"telemetry: {otlp_protocol: http/jsn}", "telemetry.otlp_protocol", "did you mean \"http/json\""},
  };
  for (const Case& c : cases) {
    const Result<Config> config = Load(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code, ErrorCode::kConfig);
    EXPECT_THAT(config.error().context, HasSubstr(c.path)) << c.yaml;
    EXPECT_THAT(config.error().ToString(), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(TelemetryConfig, SecretsInTheEndpointNeverAppearInErrors) {
  const Result<Config> config =
      Load("telemetry: {otlp_endpoint: \"${EP}\"}", {{"EP", "ftp://user:s3cret-value@collector"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().ToString(), Not(HasSubstr("s3cret-value")));
}

TEST(TelemetryConfig, AnEmptyEndpointFromAnUnsetVariableTurnsExportOff) {
  const Result<Config> config = Load("telemetry: {otlp_endpoint: \"${OTLP_URL:-}\"}");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->telemetry.otlp_endpoint.empty());
}

}  // namespace
}  // namespace steward::app
