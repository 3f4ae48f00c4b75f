#include "vial/http/multi_dict.hpp"

#include <algorithm>

#include "vial/http/error.hpp"

namespace vial {

std::optional<std::string_view> multi_dict::get(std::string_view key) const noexcept {
  for (const auto& [k, v] : items_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view multi_dict::get_or(std::string_view key,
                                    std::string_view fallback) const noexcept {
  auto v = get(key);
  return v ? *v : fallback;
}

std::vector<std::string_view> multi_dict::get_all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items_) {
    if (k == key) out.emplace_back(v);
  }
  return out;
}

bool multi_dict::contains(std::string_view key) const noexcept { return get(key).has_value(); }

void multi_dict::set(std::string_view key, std::string value) {
  auto first =
      std::find_if(items_.begin(), items_.end(), [&](const item& i) { return i.first == key; });
  if (first == items_.end()) {
    items_.emplace_back(std::string(key), std::move(value));
    return;
  }
  first->second = std::move(value);
  auto rest =
      std::remove_if(std::next(first), items_.end(), [&](const item& i) { return i.first == key; });
  items_.erase(rest, items_.end());
}

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
