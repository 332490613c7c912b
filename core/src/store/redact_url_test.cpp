#include "store/redact_url.hpp"

#include <gtest/gtest.h>

namespace steward::store {
namespace {

struct Case {
  const char* url;
  const char* redacted;
};

TEST(RedactUrl, MasksPasswordsInEveryForm) {
  const Case cases[] = {
      {"postgresql://alice:s3cret@db.example:5432/steward", "postgresql://alice:***@db.example:5432/steward"},
      {"postgres://alice:p@ss@host/db", "postgres://alice:***@host/db"},
      {"postgresql://alice@host/db?sslmode=require&password=hunter2&x=1",
       "postgresql://alice@host/db?sslmode=require&password=***&x=1"},
      {"postgresql://u:a@h/d?password=b", "postgresql://u:***@h/d?password=***"},
      {"host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"},
      {"host=h password = 'se cret\\'s' dbname=d", "host=h password = *** dbname=d"},
  };
  for (const Case& c : cases) EXPECT_EQ(RedactUrl(c.url), c.redacted) << c.url;
}

TEST(RedactUrl, LeavesUrlsWithoutPasswordUnchanged) {
  for (const char* url : {"postgresql://postgres@127.0.0.1:5432/postgres",
                          "postgresql:///steward?host=/tmp/x&port=5432&user=steward", "host=/tmp dbname=x",
                          "postgresql://user@host/db?passwordless=1"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

TEST(RedactPasswordIn, MasksTheSecretWhereverAMessageEchoesIt) {
  EXPECT_EQ(RedactPasswordIn("missing \"=\" after \"hunter2\" in connection info string",
                             "host=h password=hunter2"),
            "missing \"=\" after \"***\" in connection info string");
  EXPECT_EQ(RedactPasswordIn("auth failed for s3cret", "postgresql://a:s3cret@h/d"), "auth failed for ***");
  EXPECT_EQ(RedactPasswordIn("no secret here", "postgresql://a@h/d"), "no secret here");
}

}  // namespace
}  // namespace steward::store
