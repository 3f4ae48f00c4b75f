#include "vial/http/error.hpp"

#include "support/catch.hpp"

TEST_CASE("http_error carries status, description and extra headers", "[http][error]") {
  vial::http_error e(vial::status::method_not_allowed, "use GET", {{"Allow", "GET, HEAD"}});
  CHECK(e.status() == 405);
  CHECK(e.description() == "use GET");
  CHECK(std::string(e.what()) == "use GET");
  CHECK(e.headers().get("allow") == "GET, HEAD");
}

TEST_CASE("http_error without a description uses the reason phrase", "[http][error]") {
  vial::http_error e(404);
  CHECK(e.description() == "Not Found");
  CHECK(std::string(e.what()) == "Not Found");
  CHECK(e.headers().empty());
}

TEST_CASE("abort throws http_error with the given status and message", "[http][error]") {
  try {
    vial::abort(403, "no access to this board");
    FAIL("abort returned");
  } catch (const vial::http_error& e) {
    CHECK(e.status() == 403);
    CHECK(e.description() == "no access to this board");
  }
  try {
    vial::abort(vial::status::gone);
    FAIL("abort returned");
  } catch (const vial::http_error& e) {
    CHECK(e.status() == 410);
    CHECK(e.description() == "Gone");
  }
}
