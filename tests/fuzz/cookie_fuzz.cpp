// Fuzz target `cookie`: Cookie headers, Set-Cookie formatting and HTTP dates.
//
// Input: a Cookie header value. The same bytes are also tried as an HTTP date and as the name,
// value and attributes of a Set-Cookie header.
//
// Invariants: parsed names are non-empty and hold no ';' or '=', values no ';'; a request's
// cookies are exactly the parsed ones; format_set_cookie throws only std::invalid_argument and
// never yields CR, LF or NUL, and what it yields parses back to the same name and value;
// a parsed date survives format and parse unchanged.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vial/http/cookies.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

namespace {

using vial::fuzz::check;

void check_set_cookie(std::string_view name, std::string_view value,
                      const vial::cookie_options& options) {
  std::string header;
  try {
    header = vial::format_set_cookie(name, value, options);
  } catch (const std::invalid_argument&) {
    return;
  }
  check(header.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
        "Set-Cookie holds CR, LF or NUL", header);
  auto pair = header.substr(0, header.find(';'));
  auto parsed = vial::parse_cookie_header(pair);
  check(parsed.size() == 1, "a formatted cookie does not parse as one cookie", header);
  std::string_view unquoted = value;
  if (unquoted.size() >= 2 && unquoted.front() == '"' && unquoted.back() == '"') {
    unquoted = unquoted.substr(1, unquoted.size() - 2);
  }
  check(parsed.begin()->first == name && parsed.begin()->second == unquoted,
        "a formatted cookie parses to another name or value", header);
  // A response accepts it as a header.
  vial::response r;
  r.set_cookie(name, value, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto cookies = vial::parse_cookie_header(input);
  for (const auto& [name, value] : cookies) {
    check(!name.empty(), "empty cookie name");
    check(name.find_first_of(";=") == std::string::npos, "cookie name holds ';' or '='", name);
    check(value.find(';') == std::string::npos, "cookie value holds ';'", value);
  }
  vial::request req("GET", "/", {{"Cookie", std::string(input)}, {"Cookie", "extra=1"}});
  check(req.cookies().size() == cookies.size() + 1, "request cookies differ from the parsed ones");
  auto it = req.cookies().begin();
  for (const auto& item : cookies)
    check(*it++ == item, "request cookies differ from the parsed ones");

  if (auto date = vial::parse_http_date(input)) {
    auto again = vial::parse_http_date(vial::format_http_date(*date));
    check(again && *again == *date, "an HTTP date does not survive format and parse",
          vial::format_http_date(*date));
  }

  // name=value; then the rest as the attributes.
  auto eq = input.find('=');
  auto semi = input.find(';');
  if (eq != std::string_view::npos && eq < semi) {
    auto name = input.substr(0, eq);
    auto value = input.substr(eq + 1, semi == std::string_view::npos ? semi : semi - eq - 1);
    vial::cookie_options options;
    if (semi != std::string_view::npos) {
      auto attrs = input.substr(semi + 1);
      options.path = std::string(attrs.substr(0, attrs.find(';')));
      options.domain = std::string(attrs.substr(attrs.size() / 2));
      options.same_site = size % 3 == 0 ? "" : size % 3 == 1 ? "lax" : "None";
      options.secure = size % 2 == 0;
      options.http_only = size % 5 == 0;
      options.max_age = std::chrono::seconds(static_cast<std::int64_t>(size) * 7919 - 100000);
    }
    check_set_cookie(name, value, options);
  }
  return 0;
}
