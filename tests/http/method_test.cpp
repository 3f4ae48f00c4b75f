#include "vial/http/method.hpp"

#include "support/catch.hpp"

TEST_CASE("parse_method maps every standard token and round-trips with to_string",
          "[http][method]") {
  using vial::method;
  auto m = GENERATE(method::get, method::head, method::post, method::put, method::delete_,
                    method::options, method::patch, method::connect, method::trace);
  CHECK(vial::parse_method(vial::to_string(m)) == m);
}

TEST_CASE("parse_method is case-sensitive and maps unknown tokens to other", "[http][method]") {
  CHECK(vial::parse_method("DELETE") == vial::method::delete_);
  CHECK(vial::to_string(vial::method::delete_) == "DELETE");
  CHECK(vial::parse_method("get") == vial::method::other);
  CHECK(vial::parse_method("PROPFIND") == vial::method::other);
  CHECK(vial::parse_method("") == vial::method::other);
  CHECK(vial::to_string(vial::method::other) == "OTHER");
}
