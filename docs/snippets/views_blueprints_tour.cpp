// docs/views-and-blueprints.md, runnable: class-based views, blueprints, sessions, static files
// and CORS. Built and run by the test suite (doc_snippet_views_blueprints_tour).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vial/vial.hpp>

// [view]
struct user_db {
  std::vector<std::string> names{"ada", "grace"};
};

class users_api {
 public:
  explicit users_api(std::shared_ptr<user_db> db) : db_(std::move(db)) {}

  // Runs before every method of this view: an auth check for all of them.
  std::optional<vial::response> before(vial::request& req) {
    if (!req.header("Authorization")) return vial::response::text("login first\n", 401);
    return std::nullopt;
  }
  std::string get(int id) { return db_->names.at(static_cast<std::size_t>(id)) + "\n"; }
  vial::task<vial::status> delete_(int id) {  // a coroutine member works the same
    db_->names.erase(db_->names.begin() + id);
    co_return vial::status::no_content;
  }

 private:
  std::shared_ptr<user_db> db_;
};
// [view]

int main() {
  vial::app app({.secret_key = "change me"});
  vial::test_client client(app);
  auto show = [](const vial::test_response& r) {
    std::cout << r.status() << " " << r.text();
    if (r.text().empty() || r.text().back() != '\n') std::cout << "\n";
  };

  // [blueprint]
  vial::blueprint api("api", "/api");
  api.before_request([](vial::request& req) { req.g<std::string>() = "from the api hook"; });
  api.get("/hello", [](vial::request& req) { return req.g<std::string>() + "\n"; },
          {.endpoint = "hello"});
  api.add_view("/users/<int:id>", std::make_shared<users_api>(std::make_shared<user_db>()),
               {.endpoint = "user"});
  app.register_blueprint(api);
  app.register_blueprint(api, {.url_prefix = "/v2", .name = "api_v2"});
  // [blueprint]

  // [session]
  vial::enable_sessions(app);
  app.get("/visits", [](vial::request& req) {
    auto& s = vial::session_of(req);
    s.set("visits", s.get("visits", 0).get<int>() + 1);
    return "visit " + s.get("visits").dump() + "\n";
  });
  // [session]

  // [static]
  const auto dir = std::filesystem::temp_directory_path() / "vial-doc-static";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hello.txt") << "hello, static world\n";
  app.static_folder("/static", dir.string());
  // [static]

  // [cors]
  vial::enable_cors(app, {.origins = {"https://app.example"}});
  // [cors]

  show(client.get("/api/hello"));
  std::cout << app.url_for("api.user", {{"id", "1"}}) << " " << app.url_for("api_v2.hello") << "\n";
  show(client.get("/api/users/1"));
  show(client.get("/api/users/1", {.headers = {{"Authorization", "Bearer t"}}}));
  auto not_allowed = client.post("/api/users/1");
  std::cout << not_allowed.status() << " Allow: " << not_allowed.header("Allow").value_or("")
            << "\n";
  show(client.get("/visits"));
  show(client.get("/visits"));
  show(client.get("/static/hello.txt"));
  show(client.get("/static/hello.txt", {.headers = {{"Range", "bytes=0-4"}}}));
  show(client.get("/static/../secret"));
  auto pre = client.options("/api/hello", {.headers = {{"Origin", "https://app.example"},
                                                       {"Access-Control-Request-Method", "GET"}}});
  std::cout << pre.status() << " " << pre.header("Access-Control-Allow-Origin").value_or("")
            << "\n";
  std::filesystem::remove_all(dir);
}
