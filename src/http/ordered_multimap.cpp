#include "vial/detail/ordered_multimap.hpp"

#include <algorithm>
#include <iterator>

#include "vial/http/headers.hpp"

namespace vial::detail {

bool ascii_iequal::operator()(std::string_view a, std::string_view b) const noexcept {
  return iequals(a, b);
}

template <class KeyEqual>
std::optional<std::string_view> ordered_multimap<KeyEqual>::get(
    std::string_view key) const noexcept {
  for (const auto& [k, v] : entries_) {
    if (KeyEqual{}(k, key)) return std::string_view(v);
  }
  return std::nullopt;
}

template <class KeyEqual>
std::string_view ordered_multimap<KeyEqual>::get_or(std::string_view key,
                                                    std::string_view fallback) const noexcept {
  auto v = get(key);
  return v ? *v : fallback;
}

template <class KeyEqual>
std::vector<std::string_view> ordered_multimap<KeyEqual>::get_all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : entries_) {
    if (KeyEqual{}(k, key)) out.emplace_back(v);
  }
  return out;
}

template <class KeyEqual>
std::size_t ordered_multimap<KeyEqual>::count(std::string_view key) const noexcept {
  auto has_key = [&](const value_type& e) { return KeyEqual{}(e.first, key); };
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), has_key));
}

template <class KeyEqual>
void ordered_multimap<KeyEqual>::assign(std::string_view key, std::string value) {
  auto has_key = [&](const value_type& e) { return KeyEqual{}(e.first, key); };
  auto first = std::find_if(entries_.begin(), entries_.end(), has_key);
  if (first == entries_.end()) {
    entries_.emplace_back(std::string(key), std::move(value));
    return;
  }
  first->first.assign(key);
  first->second = std::move(value);
  entries_.erase(std::remove_if(std::next(first), entries_.end(), has_key), entries_.end());
}

template <class KeyEqual>
std::size_t ordered_multimap<KeyEqual>::erase(std::string_view key) {
  auto rest = std::remove_if(entries_.begin(), entries_.end(),
                             [&](const value_type& e) { return KeyEqual{}(e.first, key); });
  auto n = static_cast<std::size_t>(std::distance(rest, entries_.end()));
  entries_.erase(rest, entries_.end());
  return n;
}

template class ordered_multimap<ascii_iequal>;
template class ordered_multimap<exact_equal>;

}  // namespace vial::detail
