#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vial::detail {

/// Key comparisons for `ordered_multimap`.
struct ascii_iequal {
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};
struct exact_equal {
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

/// An ordered multimap of strings: what `headers` (names equal ignoring ASCII case) and
/// `multi_dict` (keys equal byte for byte) are. Entries keep the order they were added in.
/// Distinct objects: safe. Shared objects: unsafe.
template <class KeyEqual>
class ordered_multimap {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  ordered_multimap() = default;
  ordered_multimap(std::initializer_list<value_type> entries) : entries_(entries) {}

  /// The first value of `key`, if present.
  std::optional<std::string_view> get(std::string_view key) const noexcept;
  /// The first value of `key`, or `fallback`.
  std::string_view get_or(std::string_view key, std::string_view fallback) const noexcept;
  /// Every value of `key`, in order.
  std::vector<std::string_view> get_all(std::string_view key) const;
  bool contains(std::string_view key) const noexcept { return get(key).has_value(); }
  /// How many entries have `key`.
  std::size_t count(std::string_view key) const noexcept;

  /// Appends an entry, keeping those with the same key (Set-Cookie, repeated arguments).
  template <class K, class V>
  void add(K&& key, V&& value) {
    entries_.emplace_back(std::string(std::forward<K>(key)), std::string(std::forward<V>(value)));
  }
  /// Replaces every entry of `key` with one, where the first of them was (so the wire order
  /// stays stable).
  template <class V>
  void set(std::string_view key, V&& value) {
    assign(key, std::string(std::forward<V>(value)));
  }
  /// Removes every entry of `key`; returns how many were removed.
  std::size_t erase(std::string_view key);

  /// Room for `n` entries, for a caller that knows how many it will add.
  void reserve(std::size_t n) { entries_.reserve(n); }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }

 private:
  void assign(std::string_view key, std::string value);

  std::vector<value_type> entries_;
};

// Defined once, in src/http/ordered_multimap.cpp.
extern template class ordered_multimap<ascii_iequal>;
extern template class ordered_multimap<exact_equal>;

}  // namespace vial::detail
