#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vial {

/// True when `a` and `b` are equal ignoring ASCII case (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// HTTP header fields: ordered, multi-valued, names compared case-insensitively.
/// Insertion order is kept, so fields go on the wire as they were added.
/// Distinct objects: safe. Shared objects: unsafe.
class headers {
 public:
  using field = std::pair<std::string, std::string>;
  using const_iterator = std::vector<field>::const_iterator;

  headers() = default;
  headers(std::initializer_list<field> fields);

  /// The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  /// The first value of `name`, or `fallback`.
  std::string_view get_or(std::string_view name, std::string_view fallback) const noexcept;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept;
  /// How many fields are named `name`.
  std::size_t count(std::string_view name) const noexcept;

  /// Replaces every field named `name` with one field.
  void set(std::string_view name, std::string_view value);
  /// Appends a field, keeping existing ones (Set-Cookie, Vary...).
  void add(std::string_view name, std::string_view value);
  /// Removes every field named `name`; returns how many were removed.
  std::size_t erase(std::string_view name);

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }

 private:
  std::vector<field> fields_;
};

}  // namespace vial
