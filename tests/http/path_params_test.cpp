#include "vial/http/path_params.hpp"

#include "support/catch.hpp"

TEST_CASE("uuid parses the canonical form in either case and prints lower-case", "[http][uuid]") {
  auto u = vial::uuid::parse("123E4567-e89b-12D3-a456-426614174000");
  REQUIRE(u);
  CHECK(u->bytes[0] == 0x12);
  CHECK(u->bytes[15] == 0x00);
  CHECK(u->bytes[14] == 0x40);
  CHECK(u->to_string() == "123e4567-e89b-12d3-a456-426614174000");
  CHECK(vial::uuid::parse(u->to_string()) == u);
}

TEST_CASE("uuid rejects anything but the 8-4-4-4-12 hex form", "[http][uuid]") {
  auto bad =
      GENERATE("", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
               "123e4567-e89b-12d3-a456-4266141740000", "123e4567-e89b-12d3-a456_426614174000",
               "123e4567-e89b-12d3-a456-42661417400g", "{23e4567-e89b-12d3-a456-426614174000",
               "123e4567-e89b-12d3-a4564-26614174000");
  CAPTURE(bad);
  CHECK_FALSE(vial::uuid::parse(bad).has_value());
}
