#include "app/sse_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/http_server.hpp"

namespace steward::app {
namespace {

using models::detail::SseEvent;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace http = gateway::http;

// The core's own HTTP server, in process on a free loopback port, with the routes a test adds.
class LoopbackCore {
 public:
  void Route(http::verb method, std::string pattern, gateway::Handler handler) {
    server_.Route(method, std::move(pattern), std::move(handler));
  }
  std::string Start() {
    auto port = server_.Start(gateway::HttpServerOptions{"127.0.0.1", 0});
    EXPECT_TRUE(port.ok());
    return "http://127.0.0.1:" + std::to_string(port.ok() ? *port : 0);
  }
  ~LoopbackCore() { server_.Stop(); }

 private:
  gateway::HttpServer server_;
};

TEST(PostForEvents, DeliversEventsInOrderAcrossChunkBoundaries) {
  LoopbackCore core;
  std::string seen_auth, seen_accept, seen_body;
  core.Route(http::verb::post, "/api/stream",
             [&](const gateway::Request& request, const gateway::PathParams&, gateway::ResponseWriter& writer) {
               seen_auth = std::string(request[http::field::authorization]);
               seen_accept = std::string(request[http::field::accept]);
               seen_body = request.body();
               ASSERT_TRUE(writer.StartStream(http::status::ok, "text/event-stream"));
               // Each Write is its own chunk, and the pauses make them arrive as separate reads:
               // events split mid-field, a CRLF stream, and a last event with no blank line after.
               const std::vector<std::string> chunks = {
                   "event: first\ndata: {\"n\":1}\n\nevent: sec", "ond\nda", "ta: {\"n\":2}\n", "\nevent: third\r\n",
                   "data: 3\r\n\r\n", "event: last\ndata: 4\n"};
               for (const std::string& chunk : chunks) {
                 writer.Write(chunk);
                 std::this_thread::sleep_for(std::chrono::milliseconds(20));
               }
               writer.EndStream();
             });
  const std::string base_url = core.Start();

  std::vector<SseEvent> events;
  auto response = PostForEvents({base_url, "/api/stream", "t0ken", R"({"message":"hi"})"},
                                [&](const SseEvent& ev) { events.push_back(ev); });

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->streamed);
  EXPECT_EQ(response->body, "");
  EXPECT_THAT(events, ElementsAre(SseEvent{"first", R"({"n":1})", ""}, SseEvent{"second", R"({"n":2})", ""},
                                  SseEvent{"third", "3", ""}, SseEvent{"last", "4", ""}));
  EXPECT_EQ(seen_auth, "Bearer t0ken");
  EXPECT_EQ(seen_accept, "text/event-stream");
  EXPECT_EQ(seen_body, R"({"message":"hi"})");
}

TEST(PostForEvents, ReturnsAJsonErrorAnswerWithItsStatus) {
  LoopbackCore core;
  core.Route(http::verb::post, "/api/chat",
             [](const gateway::Request&, const gateway::PathParams&, gateway::ResponseWriter& writer) {
               writer.SendError(MakeError(ErrorCode::kInvalidArgument, "message is empty", "message"));
             });
  const std::string base_url = core.Start();

  int events = 0;
  auto response = PostForEvents({base_url, "/api/chat", "t", "{}"}, [&](const SseEvent&) { ++events; });

  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(events, 0);
  EXPECT_FALSE(response->streamed);
  EXPECT_EQ(response->status, 400);
  const Error error = ErrorFromAnswer(response->status, response->body, base_url + "/api/chat");
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message, "message is empty");
  EXPECT_EQ(error.context, "message");
}

TEST(PostForEvents, NamesTheCoreItCannotReach) {
  std::string base_url;
  {
    LoopbackCore gone;  // a port that was free a moment ago and has nothing listening now
    base_url = gone.Start();
  }
  int events = 0;
  auto response = PostForEvents({base_url, "/api/chat", "t", "{}"}, [&](const SseEvent&) { ++events; });

  ASSERT_FALSE(response.ok());
  EXPECT_EQ(events, 0);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(response.error().message, HasSubstr("cannot reach Steward at " + base_url + ": "));
}

TEST(ErrorFromAnswer, FallsBackToTheStatusAndMapsItToACode) {
  struct Case {
    long status;
    std::string body;
    std::string url;
    ErrorCode code;
    std::string message;
    std::string context;
  };
  const std::vector<Case> cases = {
      {502, "<html>bad gateway</html>", "http://h/api/chat", ErrorCode::kUnavailable, "HTTP 502 from http://h/api/chat",
       ""},
      {404, "", "", ErrorCode::kNotFound, "HTTP 404", ""},
      {401, R"({"error":{"message":"bad token"}})", "u", ErrorCode::kUnauthenticated, "bad token", ""},
      {403, R"({"error":{"context":"tool x"}})", "u", ErrorCode::kPermissionDenied, "HTTP 403 from u", "tool x"},
      {500, R"({"error":"not an object"})", "u", ErrorCode::kUnavailable, "HTTP 500 from u", ""},
  };
  for (const Case& c : cases) {
    const Error error = ErrorFromAnswer(c.status, c.body, c.url);
    EXPECT_EQ(error.code, c.code) << c.status;
    EXPECT_EQ(error.message, c.message) << c.status;
    EXPECT_EQ(error.context, c.context) << c.status;
  }
}

}  // namespace
}  // namespace steward::app
