#include "vial/app/view.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "vial/routing/error.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

namespace {

// Flask's tests/test_async.py: an async MethodView answers GET and POST.
struct async_method_view {
  vial::task<std::string> get() { co_return "GET"; }
  vial::task<std::string> post() { co_return "POST"; }
};

struct user_store {
  std::vector<std::string> names{"ada", "bob"};
};

struct users_api {
  explicit users_api(std::shared_ptr<user_store> s) : store(std::move(s)) {}
  std::string get(int id) {
    if (id < 0 || id >= static_cast<int>(store->names.size())) vial::abort(404, "no such user");
    return store->names[static_cast<std::size_t>(id)];
  }
  vial::task<vial::response> delete_(vial::request&, int id) {
    store->names.erase(store->names.begin() + id);
    co_return vial::response(std::string(), 204);
  }
  std::shared_ptr<user_store> store;
};

struct guarded_view {
  std::optional<vial::response> before(vial::request& req) {
    if (req.header("Authorization") != std::optional<std::string_view>("Bearer ok")) {
      return vial::response::text("login first", 401);
    }
    return std::nullopt;
  }
  void after(vial::request&, vial::response& res) { res.set_header("X-View", "guarded"); }
  std::string get() { return "secret"; }
  std::string put(vial::request& req) { return "stored " + req.body(); }
};

struct counter_view {
  explicit counter_view(int start) : n(start) {}
  std::string get() { return std::to_string(n++); }
  int n;
};

struct mismatched_view {
  std::string get(int id) { return std::to_string(id); }
  std::string post(std::string name) { return name; }
};

}  // namespace

TEST_CASE("an async method view answers GET and POST with its coroutine members",
          "[app][view][async]") {
  vial::app app;
  app.add_view("/", std::make_shared<async_method_view>());
  test_client client(app);
  CHECK(client.get("/").text() == "GET");
  CHECK(client.post("/").text() == "POST");
}

TEST_CASE("a method view answers the methods it lacks with 405 and Allow", "[app][view]") {
  vial::app app;
  app.add_view("/", std::make_shared<async_method_view>());
  test_client client(app);
  auto r = client.put("/");
  CHECK(r.status() == 405);
  auto allow = std::string(r.header("Allow").value_or(""));
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("POST") != std::string::npos);
  CHECK(allow.find("PUT") == std::string::npos);
  CHECK(client.head("/").status() == 200);
}

TEST_CASE("view members bind the rule's parameters, sync and async mixed", "[app][view]") {
  auto store = std::make_shared<user_store>();
  vial::app app;
  app.add_view("/users/<int:id>", std::make_shared<users_api>(store), {.endpoint = "user"});
  test_client client(app);
  CHECK(client.get("/users/1").text() == "bob");
  CHECK(client.get("/users/7").status() == 404);
  CHECK(client.delete_("/users/0").status() == 204);
  CHECK(store->names == std::vector<std::string>{"bob"});
  CHECK(client.get("/users/0").text() == "bob");
  CHECK(app.url_for("user", {{"id", "3"}}) == "/users/3");
}

TEST_CASE("a view's before member guards every method and its after member sees each response",
          "[app][view][hooks]") {
  vial::app app;
  app.add_view("/vault", std::make_shared<guarded_view>());
  app.get("/open", [] { return "open"; });
  test_client client(app);
  auto denied = client.get("/vault");
  CHECK(denied.status() == 401);
  CHECK(denied.text() == "login first");
  CHECK(denied.header("X-View") == std::optional<std::string_view>("guarded"));
  CHECK(client.put("/vault", {.body = "x"}).status() == 401);
  vial::test_request auth{.headers = {{"Authorization", "Bearer ok"}}};
  CHECK(client.get("/vault", auth).text() == "secret");
  auth.body = "gold";
  CHECK(client.put("/vault", auth).text() == "stored gold");
  auto open = client.get("/open");
  CHECK(open.text() == "open");
  CHECK_FALSE(open.header("X-View"));
}

TEST_CASE("add_view constructs the view from arguments and may serve several rules",
          "[app][view]") {
  vial::app app;
  app.add_view<counter_view>("/count", 10);
  app.add_view({"/a", "/b"}, std::make_shared<async_method_view>(), {.endpoint = "ab"});
  test_client client(app);
  CHECK(client.get("/count").text() == "10");
  CHECK(client.get("/count").text() == "11");
  CHECK(client.post("/a").text() == "POST");
  CHECK(client.get("/b").text() == "GET");
  CHECK(app.url_for("ab") == "/a");
}

TEST_CASE("a view whose members take different parameters is rejected at registration",
          "[app][view]") {
  vial::app app;
  CHECK_THROWS_AS(app.add_view("/m/<int:id>", std::make_shared<mismatched_view>()),
                  vial::setup_error);
  CHECK_THROWS_AS(app.add_view("/m/<name>", std::make_shared<counter_view>(1)), vial::setup_error);
}
