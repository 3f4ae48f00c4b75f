#include "vial/http/headers.hpp"

#include <algorithm>

namespace vial {

namespace {

constexpr char to_lower_ascii(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

headers::headers(std::initializer_list<field> fields) : fields_(fields) {}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
  for (const auto& [n, v] : fields_) {
    if (iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view headers::get_or(std::string_view name, std::string_view fallback) const noexcept {
  auto v = get(name);
  return v ? *v : fallback;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : fields_) {
    if (iequals(n, name)) out.emplace_back(v);
  }
  return out;
}

bool headers::contains(std::string_view name) const noexcept { return get(name).has_value(); }

std::size_t headers::count(std::string_view name) const noexcept {
  return static_cast<std::size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const field& f) { return iequals(f.first, name); }));
}

void headers::set(std::string_view name, std::string_view value) {
  // Keep the position of the first existing field so the wire order stays stable.
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const field& f) { return iequals(f.first, name); });
  if (first == fields_.end()) {
    fields_.emplace_back(std::string(name), std::string(value));
    return;
  }
  first->first.assign(name);
  first->second.assign(value);
  auto rest = std::remove_if(std::next(first), fields_.end(),
                             [&](const field& f) { return iequals(f.first, name); });
  fields_.erase(rest, fields_.end());
}

void headers::add(std::string_view name, std::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

std::size_t headers::erase(std::string_view name) {
  auto rest = std::remove_if(fields_.begin(), fields_.end(),
                             [&](const field& f) { return iequals(f.first, name); });
  auto n = static_cast<std::size_t>(std::distance(rest, fields_.end()));
  fields_.erase(rest, fields_.end());
  return n;
}

}  // namespace vial
