#include <chrono>
#include <memory>
#include <tuple>
#include <type_traits>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/routing/error.hpp"
#include "vial/testing/test_client.hpp"

TEST_CASE("a runtime rule whose parameter count differs from the handler's is rejected",
          "[app][registration]") {
  vial::app app;
  CHECK_THROWS_WITH(app.get(vial::runtime_rule("/u/<int:id>"), [](int, int) { return ""; }),
                    "rule '/u/<int:id>' has 1 parameter but the handler takes 2");
  CHECK_THROWS_WITH(app.get(vial::runtime_rule("/u/<int:id>/<name>"), [](int) { return ""; }),
                    "rule '/u/<int:id>/<name>' has 2 parameters but the handler takes 1");
}

TEST_CASE("a runtime rule whose converter does not fit the handler parameter is rejected",
          "[app][registration]") {
  vial::app app;
  CHECK_THROWS_WITH(app.get(vial::runtime_rule("/u/<int:id>"), [](std::string) { return ""; }),
                    "rule '/u/<int:id>': parameter 'id' uses converter 'int', so handler "
                    "parameter 1 must be an integer type, not std::string or std::string_view");
  CHECK_THROWS_WITH(app.get(vial::runtime_rule("/f/<name>"), [](double) { return ""; }),
                    Catch::Contains("must be std::string or std::string_view"));
}

TEST_CASE("a malformed runtime rule or unknown converter is rejected at registration",
          "[app][registration]") {
  vial::app app;
  CHECK_THROWS_AS(app.get(vial::runtime_rule("/x/<foo:y>"), [](std::string) { return ""; }),
                  vial::setup_error);
  CHECK_THROWS_WITH(app.get(vial::runtime_rule("/x/<foo:y>"), [](std::string) { return ""; }),
                    Catch::Contains("foo"));
  CHECK_THROWS_AS(app.get(vial::runtime_rule("no-slash"), [] { return ""; }), vial::setup_error);
}

TEST_CASE("a duplicate rule for the same method is rejected", "[app][registration]") {
  vial::app app;
  app.get("/users/<int:id>", [](int) { return ""; });
  CHECK_THROWS_AS(app.get("/users/<int:uid>", [](int) { return ""; }), vial::setup_error);
  // The same rule for another method is fine.
  CHECK_NOTHROW(app.post("/users/<int:id>", [](int) { return ""; }));
}

TEST_CASE("registering after the first request is rejected", "[app][registration]") {
  vial::app app;
  app.get("/", [] { return ""; });
  vial::test_client(app).get("/");
  CHECK(app.is_frozen());
  CHECK_THROWS_WITH(
      app.get("/late", [] { return ""; }),
      Catch::StartsWith("cannot register rule '/late' after the app started serving"));
  CHECK_THROWS_AS(app.before_request([](vial::request&) {}), vial::setup_error);
}

// Routes capture the app by reference and the app holds pointers into itself (scopes, the
// logger its executors use), so a moved app would leave them dangling: it does not move, and
// the factory pattern returns it in a unique_ptr (docs/testing.md).
static_assert(!std::is_move_constructible_v<vial::app> && !std::is_copy_constructible_v<vial::app>);

namespace {
std::unique_ptr<vial::app> make_app_with_jobs() {
  auto app = std::make_unique<vial::app>();
  app->post("/jobs", [&app = *app] {
    auto job = app.background([] {}, "job");
    return std::tuple{job.id(), 202};
  });
  app->get("/health", [] { return "ok"; });
  return app;
}
}  // namespace

TEST_CASE("an app factory's routes that capture the app work after it is returned",
          "[app][registration]") {
  auto app = make_app_with_jobs();
  vial::test_client client(*app);
  CHECK(client.get("/health").text() == "ok");
  auto r = client.post("/jobs");
  CHECK(r.status() == 202);
  CHECK(r.text().rfind("bg-", 0) == 0);
  CHECK(app->shutdown(std::chrono::seconds(2)) == 0);
}
