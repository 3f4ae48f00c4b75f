#include "vial/http/multi_dict.hpp"

#include "vial/http/error.hpp"

namespace vial {

namespace detail {

void throw_bad_argument(std::string_view noun, std::string_view key, std::string_view value,
                        std::string_view expected) {
  // The echoed value is cut short so a huge argument cannot bloat the error response.
  constexpr std::size_t max_echo = 64;
  std::string shown(value.substr(0, max_echo));
  if (value.size() > max_echo) {
    // Do not cut a UTF-8 sequence in half.
    while (!shown.empty() && (static_cast<unsigned char>(shown.back()) & 0xC0) == 0x80)
      shown.pop_back();
    if (!shown.empty() && static_cast<unsigned char>(shown.back()) >= 0xC0) shown.pop_back();
    shown += "...";
  }
  std::string message(noun);
  message += " '";
  message.append(key);
  message += "' must be ";
  message.append(expected);
  message += ", got '";
  message += shown;
  message += "'";
  throw http_error(400, std::move(message));
}

void throw_bad_argument(std::string_view key, std::string_view value, std::string_view expected) {
  throw_bad_argument("query argument", key, value, expected);
}

}  // namespace detail

}  // namespace vial
