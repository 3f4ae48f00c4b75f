#include "vial/http/json_view.hpp"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/status_of.hpp"
#include "vial/http/error.hpp"
#include "vial/http/request.hpp"

namespace {

using vial::testing::status_of;

vial::request json_request(std::string body) {
  return vial::request("POST", "/", {{"Content-Type", "application/json"}}, std::move(body));
}

const nlohmann::json doc = nlohmann::json::parse(
    R"({"title": "t", "age": 41, "ratio": 0.5, "ok": true, "none": null, "big": 5000000000,
        "neg": -1, "tags": ["a", "b"], "user": {"name": "ada", "langs": [{"n": "c++"}]}})");

}  // namespace

TEST_CASE("a missing key is a 400 naming the field", "[http][json]") {
  auto req = json_request(R"({"body": "no title"})");
  CHECK_THROWS_WITH((void)req.json()["title"], "missing field 'title'");
  CHECK(status_of([&] { std::string t = req.json()["title"]; }) == 400);
}

TEST_CASE("a missing nested key or index names its whole path", "[http][json]") {
  vial::json_view v(doc);
  CHECK_THROWS_WITH((void)v["user"]["email"], "missing field 'user.email'");
  CHECK_THROWS_WITH((void)v["user"]["langs"][3], "missing field 'user.langs[3]'");
  CHECK_THROWS_WITH((void)v["user"]["langs"][0]["v"], "missing field 'user.langs[0].v'");
  CHECK_THROWS_WITH((void)v["tags"][-1], "missing field 'tags[-1]'");
  CHECK_THROWS_WITH((void)v.at("nope"), "missing field 'nope'");
}

TEST_CASE("indexing a value of the wrong kind is a 400, never undefined behaviour",
          "[http][json]") {
  vial::json_view v(doc);
  CHECK_THROWS_WITH((void)v["title"]["x"], "field 'title' must be an object");
  CHECK_THROWS_WITH((void)v["user"][0], "field 'user' must be an array");
  CHECK_THROWS_WITH((void)vial::json_view(nlohmann::json::array())["x"],
                    "JSON body must be an object");
  CHECK(status_of([&] { (void)v["none"]["x"]; }) == 400);
}

TEST_CASE("typed reads check the type and name the field", "[http][json]") {
  vial::json_view v(doc);
  std::string title = v["title"];
  int age = v["age"];
  double ratio = v["ratio"];
  bool ok = v["ok"];
  long long big = v["big"];
  CHECK(title == "t");
  CHECK(age == 41);
  CHECK(ratio == 0.5);
  CHECK(ok);
  CHECK(big == 5000000000);
  CHECK(v["age"].get<double>() == 41.0);

  CHECK_THROWS_WITH(
      [&] {
        int n = v["title"];
        (void)n;
      }(),
      "field 'title' must be an integer");
  CHECK_THROWS_WITH(
      [&] {
        int n = v["ratio"];
        (void)n;
      }(),
      "field 'ratio' must be an integer");
  CHECK_THROWS_WITH([&] { std::string s = v["age"]; }(), "field 'age' must be a string");
  CHECK_THROWS_WITH(
      [&] {
        bool b = v["age"];
        (void)b;
      }(),
      "field 'age' must be a boolean");
  CHECK_THROWS_WITH(
      [&] {
        double d = v["none"];
        (void)d;
      }(),
      "field 'none' must be a number");
  CHECK_THROWS_WITH(v["big"].get<int>(),
                    "field 'big' must be an integer from -2147483648 to 2147483647");
  CHECK_THROWS_WITH(v["neg"].get<unsigned>(),
                    "field 'neg' must be an integer from 0 to 4294967295");
  CHECK_THROWS_WITH(vial::json_view(nlohmann::json("x")).get<int>(),
                    "JSON body must be an integer");
}

TEST_CASE("reads of containers and other nlohmann types are checked too", "[http][json]") {
  vial::json_view v(doc);
  CHECK(v["tags"].get<std::vector<std::string>>() == std::vector<std::string>{"a", "b"});
  CHECK(v["user"]["langs"][0].get<std::map<std::string, std::string>>().at("n") == "c++");
  CHECK_THROWS_WITH(v["tags"].get<std::vector<int>>(),
                    "field 'tags' has the wrong shape: type must be number, but is string");
  CHECK(status_of([&] { (void)v["user"].get<std::vector<int>>(); }) == 400);
}

TEST_CASE("contains, value and the predicates read without throwing", "[http][json]") {
  vial::json_view v(doc);
  CHECK(v.contains("title"));
  CHECK_FALSE(v.contains("nope"));
  CHECK_FALSE(v["tags"].contains("a"));
  CHECK(v.value("title", "x") == "t");
  CHECK(v.value("nope", "x") == "x");
  CHECK(v.value("none", 7) == 7);
  CHECK(v["tags"].value("a", 1) == 1);
  CHECK(v.value("age", 0) == 41);
  CHECK_THROWS_WITH(v.value("title", 0), "field 'title' must be an integer");
  CHECK(v["tags"].size() == 2);
  CHECK_FALSE(v.empty());
  CHECK(v["user"].is_object());
  CHECK(v["tags"].is_array());
  CHECK(v["title"].is_string());
  CHECK(v["age"].is_number_integer());
  CHECK(v["none"].is_null());
  CHECK(std::string(v["ok"].type_name()) == "boolean");
  CHECK(v["tags"].dump() == R"(["a","b"])");
}

TEST_CASE("iteration yields views that name their path", "[http][json]") {
  vial::json_view v(doc);
  std::vector<std::string> tags;
  for (std::string tag : v["tags"]) tags.push_back(tag);
  CHECK(tags == std::vector<std::string>{"a", "b"});
  std::vector<std::string> keys;
  for (auto& item : v["user"].items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"langs", "name"});
  auto it = v["user"]["langs"].begin();
  CHECK_THROWS_WITH((void)(*it)["v"], "missing field 'user.langs[0].v'");
  CHECK_THROWS_WITH((void)v["user"].find("name")->get<int>(),
                    "field 'user.name' must be an integer");
  CHECK(v.find("nope") == v.end());
  auto found = vial::json_view(doc).find("age");  // outlives the view it came from
  CHECK(found.key() == "age");
  CHECK(found->get<int>() == 41);
}

TEST_CASE("a view compares and converts like the JSON it shows", "[http][json]") {
  vial::json_view v(doc);
  CHECK(v["age"] == 41);
  CHECK(41 == v["age"]);
  CHECK(v["title"] == "t");
  CHECK(v["title"] != "u");
  CHECK(v["tags"] == nlohmann::json{"a", "b"});
  CHECK(v["user"] == v["user"]);
  nlohmann::json copy = v;
  CHECK(copy == doc);
  const nlohmann::json& raw = v["user"];
  CHECK(&raw == &doc["user"]);
  CHECK(&v.raw() == &doc);
  nlohmann::json wrapped{{"echo", v["tags"]}};
  CHECK(wrapped["echo"] == doc["tags"]);
  nlohmann::json list = nlohmann::json::array();
  list.push_back(v["age"]);
  CHECK(list == nlohmann::json{41});
}

TEST_CASE("a view does not convert to types that would make reads ambiguous", "[http][json]") {
  STATIC_REQUIRE(std::is_convertible_v<vial::json_view, std::string>);
  STATIC_REQUIRE(std::is_convertible_v<vial::json_view, int>);
  STATIC_REQUIRE(std::is_convertible_v<vial::json_view, const nlohmann::json&>);
  STATIC_REQUIRE(std::is_constructible_v<nlohmann::json, vial::json_view>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<vial::json_view, const char*>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<vial::json_view, std::vector<int>>);
}
