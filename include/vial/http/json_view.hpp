#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace vial {

class json_view;

namespace detail {

/// Throws `http_error` 400: "missing field 'user.name'", "field 'age' must be an integer".
[[noreturn]] void json_missing(const std::string& path);
[[noreturn]] void json_wrong_type(const std::string& path, std::string_view expected);
/// A conversion nlohmann refused: 400 naming the field, with nlohmann's reason.
[[noreturn]] void json_unreadable(const std::string& path, const nlohmann::json::exception& e);

template <class T>
concept json_readable_as =
    !std::is_pointer_v<T> && !std::is_reference_v<T> && !std::same_as<T, json_view> &&
    !std::same_as<T, nlohmann::json> && !std::same_as<T, std::string_view> && !std::is_array_v<T> &&
    !std::same_as<T, std::nullptr_t> && requires(const nlohmann::json& j) { j.template get<T>(); };

/// What a view converts to implicitly. Kept to scalars and strings: a conversion to every type
/// nlohmann reads (enums, pairs, containers) would make `nlohmann::json(view)` and
/// `array.push_back(view)` ambiguous; those read with `get<T>()`.
template <class T>
concept json_scalar =
    (std::is_arithmetic_v<T> || std::same_as<T, std::string>)&&json_readable_as<T>;

}  // namespace detail

/// A read-only view of a parsed JSON request body (`request::json()`) or of a value inside it,
/// where a client's mistake is the client's error: a missing key or index, or a value of the
/// wrong type, throws `http_error` 400 naming the field ("missing field 'user.name'",
/// "field 'age' must be an integer") instead of asserting or throwing nlohmann's exceptions,
/// as Flask's `request.json["title"]` answers 400.
///
/// Reads as nlohmann::json does (`body["title"]`, `std::string t = body["title"]`, `contains`,
/// `value`, `size`, `is_*`, iteration, `dump`, `==`), and converts to `const nlohmann::json&`
/// wherever one is expected (`nlohmann::json{{"echo", req.json()}}`, returning it from a
/// handler); `raw()` is the explicit escape. A view refers to the request's parsed body: it is
/// valid while the request lives. Distinct objects: safe. Shared objects: safe (read-only).
class json_view {
 public:
  /// Views `value`, named `path` in messages ("" is the body itself).
  explicit json_view(const nlohmann::json& value, std::string path = {})
      : value_(&value), path_(std::move(path)) {}

  /// The underlying value, for nlohmann's full API.
  const nlohmann::json& raw() const noexcept { return *value_; }
  operator const nlohmann::json&() const noexcept { return *value_; }
  /// Where this value is in the body ("user.name", "items[2]"); empty for the body itself.
  const std::string& path() const noexcept { return path_; }

  /// The member `key`. Throws `http_error` 400 when this is not an object or has no such key.
  json_view operator[](std::string_view key) const;
  json_view operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  json_view operator[](const std::string& key) const { return (*this)[std::string_view(key)]; }
  /// Element `index`. Throws `http_error` 400 when this is not an array or is too short.
  json_view operator[](std::size_t index) const;
  json_view operator[](int index) const;
  /// The same as `operator[]` (nlohmann's checked access, checked the same way here).
  json_view at(std::string_view key) const { return (*this)[key]; }
  json_view at(std::size_t index) const { return (*this)[index]; }

  /// The value as `T`, for any type nlohmann converts to. Throws `http_error` 400 naming the
  /// field and the expected type when the value does not fit: an integer type takes only
  /// integers within its range, `bool` only booleans, a floating point type any number,
  /// `std::string` only strings.
  template <class T>
    requires detail::json_readable_as<T>
  T get() const;
  /// `std::string title = body["title"];`, `int n = body["n"];` (the same checks as `get`).
  template <class T>
    requires detail::json_scalar<T>
  operator T() const {
    return get<T>();
  }

  /// Whether this is an object with member `key` (false for any other value).
  bool contains(std::string_view key) const;
  /// The member `key` as `T`, or `fallback` when this is not an object or has no such member
  /// (null included, as nlohmann does not). A member of the wrong type is still 400.
  template <class T>
    requires detail::json_readable_as<T>
  T value(std::string_view key, T fallback) const;
  std::string value(std::string_view key, const char* fallback) const {
    return value<std::string>(key, std::string(fallback));
  }

  /// Elements of an array, members of an object, 1 for a scalar, 0 for null.
  std::size_t size() const noexcept { return value_->size(); }
  bool empty() const noexcept { return value_->empty(); }

  bool is_null() const noexcept { return value_->is_null(); }
  bool is_boolean() const noexcept { return value_->is_boolean(); }
  bool is_number() const noexcept { return value_->is_number(); }
  bool is_number_integer() const noexcept { return value_->is_number_integer(); }
  bool is_number_unsigned() const noexcept { return value_->is_number_unsigned(); }
  bool is_number_float() const noexcept { return value_->is_number_float(); }
  bool is_string() const noexcept { return value_->is_string(); }
  bool is_array() const noexcept { return value_->is_array(); }
  bool is_object() const noexcept { return value_->is_object(); }
  bool is_primitive() const noexcept { return value_->is_primitive(); }
  bool is_structured() const noexcept { return value_->is_structured(); }
  /// "object", "array", "string", "number", "boolean" or "null".
  const char* type_name() const noexcept { return value_->type_name(); }

  /// Serializes the value (nlohmann's `dump`).
  std::string dump(int indent = -1) const { return value_->dump(indent); }

  class iterator;
  /// Iterates over elements or members as views (`it.key()` for members); a scalar iterates
  /// once over itself, as in nlohmann.
  iterator begin() const;
  iterator end() const;
  /// The member `key`, or `end()`.
  iterator find(std::string_view key) const;
  /// `for (auto& item : body.items())` with `item.key()` and `item.value()`.
  struct item_range;
  item_range items() const;

  friend bool operator==(const json_view& a, const json_view& b) { return a.raw() == b.raw(); }
  friend bool operator==(const json_view& a, const nlohmann::json& b) { return a.raw() == b; }
  /// `body["n"] == 1`, `body["name"] == "ada"`: compares with the JSON value `b` converts to.
  template <class T>
    requires(!std::same_as<std::remove_cvref_t<T>, json_view> &&
             !std::same_as<std::remove_cvref_t<T>, nlohmann::json> &&
             std::is_constructible_v<nlohmann::json, const T&>)
  friend bool operator==(const json_view& a, const T& b) {
    return a.raw() == nlohmann::json(b);
  }

 private:
  std::string child_path(std::string_view key) const;
  std::string child_path(std::size_t index) const;

  const nlohmann::json* value_;
  std::string path_;
};

/// Iterates a view's elements or members, yielding views.
class json_view::iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = json_view;
  using difference_type = std::ptrdiff_t;
  using reference = json_view;
  struct pointer {
    json_view view;
    const json_view* operator->() const noexcept { return &view; }
  };

  iterator() = default;
  iterator(const json_view& parent, nlohmann::json::const_iterator it)
      : parent_(&parent.raw()), parent_path_(parent.path()), it_(it) {}

  json_view operator*() const { return value(); }
  pointer operator->() const { return pointer{value()}; }
  iterator& operator++() {
    ++it_;
    ++index_;
    return *this;
  }
  iterator operator++(int) {
    iterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const iterator& a, const iterator& b) { return a.it_ == b.it_; }

  /// The member's name (an object), or the index as text (an array), as nlohmann does.
  std::string key() const { return parent_->is_object() ? it_.key() : std::to_string(index_); }
  json_view value() const;

 private:
  // The parent's value and path, not the parent view: an iterator may outlive the view it came
  // from (`auto it = req.json().find("a");`), never the request.
  const nlohmann::json* parent_ = nullptr;
  std::string parent_path_;
  nlohmann::json::const_iterator it_{};
  std::size_t index_ = 0;
};

struct json_view::item_range {
  struct item_iterator {
    iterator it;
    const iterator& operator*() const noexcept { return it; }
    item_iterator& operator++() {
      ++it;
      return *this;
    }
    friend bool operator==(const item_iterator&, const item_iterator&) = default;
  };
  item_iterator first, last;
  item_iterator begin() const { return first; }
  item_iterator end() const { return last; }
};

inline json_view::iterator json_view::begin() const { return iterator(*this, value_->cbegin()); }
inline json_view::iterator json_view::end() const { return iterator(*this, value_->cend()); }
inline json_view::item_range json_view::items() const { return {{begin()}, {end()}}; }

template <class T>
  requires detail::json_readable_as<T>
T json_view::get() const {
  const nlohmann::json& v = *value_;
  if constexpr (std::same_as<T, bool>) {
    if (!v.is_boolean()) detail::json_wrong_type(path_, "a boolean");
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) detail::json_wrong_type(path_, "an integer");
    bool fits;
    if (v.is_number_unsigned()) {
      fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    } else if constexpr (std::is_signed_v<T>) {
      auto n = v.get<std::int64_t>();
      fits = n >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
             n <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
    } else {
      auto n = v.get<std::int64_t>();
      fits = n >= 0 && static_cast<std::uint64_t>(n) <= std::numeric_limits<T>::max();
    }
    if (!fits) {
      detail::json_wrong_type(path_, "an integer from " +
                                         std::to_string(std::numeric_limits<T>::min()) + " to " +
                                         std::to_string(std::numeric_limits<T>::max()));
    }
    return v.get<T>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) detail::json_wrong_type(path_, "a number");
    return v.get<T>();
  } else if constexpr (std::same_as<T, std::string>) {
    if (!v.is_string()) detail::json_wrong_type(path_, "a string");
    return v.get_ref<const std::string&>();
  } else {
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception& e) {
      detail::json_unreadable(path_, e);
    }
  }
}

template <class T>
  requires detail::json_readable_as<T>
T json_view::value(std::string_view key, T fallback) const {
  if (!value_->is_object()) return fallback;
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return fallback;
  return json_view(*it, child_path(key)).get<T>();
}

}  // namespace vial

/// No serializer: nlohmann::json is built from a view through its conversion to
/// `const nlohmann::json&` alone. (Otherwise the view's conversions to bool, numbers and strings
/// would make it a "compatible type" too, and `array.push_back(view)` ambiguous.)
template <>
struct nlohmann::adl_serializer<vial::json_view> {};
