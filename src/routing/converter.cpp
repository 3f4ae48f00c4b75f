#include "vial/routing/converter.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>

#include "path_encoding.hpp"
#include "vial/http/url.hpp"

namespace vial {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// Digits only: from_chars alone would take a leading '-'.
std::optional<std::int64_t> parse_int(std::string_view text) noexcept {
  if (!all_digits(text)) return std::nullopt;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// Werkzeug's `\d+\.\d+`: no sign, no exponent, no "inf"/"nan", digits on both sides.
std::optional<double> parse_float(std::string_view text) noexcept {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  if (!all_digits(text.substr(0, dot)) || !all_digits(text.substr(dot + 1))) return std::nullopt;
  double value = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_path(std::string_view text) noexcept {
  return !text.empty() && text.front() != '/' && text.back() != '/' &&
         text.find("//") == std::string_view::npos;
}

bool is_segment(std::string_view text) noexcept {
  return !text.empty() && text.find('/') == std::string_view::npos;
}

bool is_choice(const std::vector<std::string>& choices, std::string_view text) noexcept {
  for (const auto& c : choices) {
    if (c == text) return true;
  }
  return false;
}

}  // namespace

bool converter::accepts(std::string_view text) const noexcept {
  switch (kind) {
    case converter_kind::string:
      return is_segment(text);
    case converter_kind::int_:
      return parse_int(text).has_value();
    case converter_kind::float_:
      return parse_float(text).has_value();
    case converter_kind::path:
      return is_path(text);
    case converter_kind::uuid:
      return uuid::parse(text).has_value();
    case converter_kind::any:
      return is_choice(choices, text);
  }
  return false;
}

std::optional<param_value> converter::convert(std::string_view text) const {
  switch (kind) {
    case converter_kind::int_:
      if (auto v = parse_int(text)) return param_value(*v);
      return std::nullopt;
    case converter_kind::float_:
      if (auto v = parse_float(text)) return param_value(*v);
      return std::nullopt;
    case converter_kind::uuid:
      if (auto v = uuid::parse(text)) return param_value(*v);
      return std::nullopt;
    case converter_kind::string:
    case converter_kind::path:
    case converter_kind::any:
      if (accepts(text)) return param_value(std::string(text));
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> converter::to_url(std::string_view value) const {
  switch (kind) {
    case converter_kind::int_:
      if (auto v = parse_int(value)) return std::to_string(*v);
      return std::nullopt;
    case converter_kind::float_:
      // The text is already canonical enough to round-trip; keep the user's digits.
      if (parse_float(value)) return std::string(value);
      return std::nullopt;
    case converter_kind::uuid:
      if (auto v = uuid::parse(value)) return v->to_string();
      return std::nullopt;
    case converter_kind::string:
    case converter_kind::any:
      if (accepts(value)) return detail::encode_path_segment(value);
      return std::nullopt;
    case converter_kind::path:
      if (accepts(value)) return detail::encode_path(value);
      return std::nullopt;
  }
  return std::nullopt;
}

std::string_view converter::name() const noexcept {
  switch (kind) {
    case converter_kind::string:
      return "string";
    case converter_kind::int_:
      return "int";
    case converter_kind::float_:
      return "float";
    case converter_kind::path:
      return "path";
    case converter_kind::uuid:
      return "uuid";
    case converter_kind::any:
      return "any";
  }
  return "string";
}

}  // namespace vial
