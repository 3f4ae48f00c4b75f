// Fuzz target `query`: percent-encoding, UTF-8 validation, query strings and urlencoded forms.
//
// Input: a query string or form body ("a=1&b=%C3%A9+x").
//
// Invariants: percent_encode and percent_decode round-trip; is_valid_utf8 agrees with
// nlohmann's UTF-8 check; parse_query throws only http_error 400 with a valid UTF-8
// description, yields valid UTF-8, and round-trips through encode_query; a request's args and
// an urlencoded form body parse exactly as parse_query does; get_as throws only http_error 400.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vial/http/error.hpp"
#include "vial/http/json.hpp"
#include "vial/http/request.hpp"
#include "vial/http/url.hpp"

namespace {

using vial::fuzz::check;
using vial::fuzz::fail;

bool same_items(const vial::multi_dict& a, const vial::multi_dict& b) {
  if (a.size() != b.size()) return false;
  auto it = b.begin();
  for (const auto& item : a) {
    if (item != *it++) return false;
  }
  return true;
}

// nlohmann validates UTF-8 inside string literals: an independent check of is_valid_utf8.
void check_utf8(std::string_view input) {
  std::string quoted = "\"";
  for (char c : input) {
    auto b = static_cast<unsigned char>(c);
    quoted.push_back(b < 0x20 || c == '"' || c == '\\' ? 'a' : c);
  }
  quoted.push_back('"');
  std::string_view body(quoted.data() + 1, quoted.size() - 2);
  check(vial::is_valid_utf8(body) == nlohmann::json::accept(quoted),
        "is_valid_utf8 disagrees with nlohmann", body);
}

void check_percent(std::string_view input) {
  for (bool plus : {false, true}) {
    auto decoded = vial::percent_decode(input, plus);
    if (!decoded) continue;
    check(decoded->size() <= input.size(), "decoding made the text longer");
    auto again = vial::percent_decode(vial::percent_encode(*decoded), plus);
    check(again && *again == *decoded, "percent_encode does not round-trip");
  }
  for (std::string_view safe : {std::string_view(), std::string_view("!$&'()*+,;=:@/")}) {
    auto encoded = vial::percent_encode(input, safe);
    auto decoded = vial::percent_decode(encoded);
    check(decoded && *decoded == input, "percent_decode(percent_encode(x)) != x");
  }
}

template <class T>
void try_get_as(const vial::multi_dict& d, std::string_view key) {
  try {
    (void)d.get_as<T>(key);
  } catch (const vial::http_error& e) {
    check(e.status() == 400, "get_as failed with a status other than 400");
    check(vial::is_valid_utf8(e.description()), "get_as error is not valid UTF-8", e.description());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_utf8(input);
  check_percent(input);

  vial::multi_dict args;
  bool parsed = false;
  try {
    args = vial::parse_query(input);
    parsed = true;
  } catch (const vial::http_error& e) {
    check(e.status() == 400, "parse_query failed with a status other than 400");
    check(vial::is_valid_utf8(e.description()), "parse_query error is not valid UTF-8",
          e.description());
  }
  if (parsed) {
    for (const auto& [key, value] : args) {
      check(vial::is_valid_utf8(key) && vial::is_valid_utf8(value),
            "parse_query yields invalid UTF-8");
      try_get_as<int>(args, key);
      try_get_as<std::uint64_t>(args, key);
      try_get_as<double>(args, key);
      try_get_as<float>(args, key);
      try_get_as<bool>(args, key);
    }
    auto again = vial::parse_query(vial::encode_query(args));
    check(same_items(again, args), "encode_query does not round-trip");
  }

  // The same text as a request's query string (when it can be one) and as a form body.
  if (input.find_first_of(std::string_view(" #\0\r\n\t", 6)) == std::string_view::npos) {
    try {
      vial::request req("GET", "/search?" + std::string(input));
      check(parsed, "a request accepts a query parse_query rejects");
      check(same_items(req.args(), args), "request args differ from parse_query");
    } catch (const vial::http_error& e) {
      // Control bytes and DEL are refused in any request-target, whatever parse_query says.
      check(!parsed || e.status() == 400, "request refused a query with a status other than 400");
    }
  }
  vial::request form("POST", "/form",
                     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                     std::string(input));
  try {
    const auto& fields = form.form();
    check(parsed, "form() accepts a body parse_query rejects");
    check(same_items(fields, args), "form fields differ from parse_query");
  } catch (const vial::http_error& e) {
    check(!parsed, "form() rejects a body parse_query accepts", e.description());
  }
  return 0;
}
