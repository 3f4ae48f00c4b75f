#pragma once

#include <cstddef>
#include <string_view>

#include "vial/routing/converter.hpp"

// The compile-time check of a literal rule (vial/app/rule_for.hpp). `scan_rule` reads a pattern
// as `rule::parse` does, without allocating, so that it runs in a constant expression; it
// accepts and refuses the same patterns (tests/routing/rule_check_test.cpp holds them to it).

namespace vial::detail {

/// Why `scan_rule` refused a pattern; `rule::parse` says the same in its message.
enum class rule_syntax {
  ok,
  must_start_with_slash,
  unmatched_close_angle,
  unclosed_angle,
  unclosed_parenthesis,
  missing_name_after_arguments,
  mixes_text_and_converter,
  empty_parameter_name,
  invalid_parameter_name,
  unknown_converter,
  any_without_choices,
  converter_takes_no_arguments,
  unclosed_quote,
  text_after_quoted_choice,
  stray_quote,
  empty_choice,
  choice_contains_slash,
  empty_segment,
  converter_after_path,
  duplicate_parameter_name,
};

/// What `scan_rule` found: its verdict and, for a valid pattern, the parameters.
struct rule_scan {
  rule_syntax error = rule_syntax::ok;
  std::size_t param_count = 0;
};

/// Reads `pattern`, calling `on_param(index, converter_kind)` for each parameter in order.
template <class OnParam>
constexpr rule_scan scan_rule(std::string_view p, OnParam&& on_param) {
  rule_scan out;
  auto fail = [&out](rule_syntax e) {
    out.error = e;
    return out;
  };
  auto name_start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  auto name_char = [&](char c) { return name_start(c) || (c >= '0' && c <= '9'); };
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (p.empty() || p.front() != '/') return fail(rule_syntax::must_start_with_slash);
  std::size_t pos = 1;
  bool after_path = false;
  bool previous_empty = false;  // the previous segment was an empty literal
  constexpr std::size_t max_names = 16;
  std::string_view names[max_names]{};
  while (true) {
    if (previous_empty) return fail(rule_syntax::empty_segment);
    if (pos < p.size() && p[pos] == '<') {
      ++pos;
      const std::size_t start = pos;
      while (pos < p.size() && p[pos] != '>' && p[pos] != '(' && p[pos] != '/' && p[pos] != '<')
        ++pos;
      std::string_view conv, name, args;
      bool has_args = false;
      if (pos < p.size() && p[pos] == '(') {
        conv = p.substr(start, pos - start);
        const std::size_t args_start = ++pos;
        char quote = 0;
        while (pos < p.size() && (quote != 0 || p[pos] != ')')) {
          if (quote != 0 && p[pos] == quote) {
            quote = 0;
          } else if (quote == 0 && (p[pos] == '\'' || p[pos] == '"')) {
            quote = p[pos];
          }
          ++pos;
        }
        if (pos == p.size()) return fail(rule_syntax::unclosed_parenthesis);
        args = p.substr(args_start, pos - args_start);
        has_args = true;
        ++pos;
        if (pos == p.size() || p[pos] != ':')
          return fail(rule_syntax::missing_name_after_arguments);
        const std::size_t name_start_pos = ++pos;
        while (pos < p.size() && p[pos] != '>' && p[pos] != '/' && p[pos] != '<') ++pos;
        if (pos == p.size() || p[pos] != '>') return fail(rule_syntax::unclosed_angle);
        name = p.substr(name_start_pos, pos - name_start_pos);
      } else {
        if (pos == p.size() || p[pos] != '>') return fail(rule_syntax::unclosed_angle);
        const std::string_view body = p.substr(start, pos - start);
        const std::size_t colon = body.find(':');
        conv = colon == std::string_view::npos ? std::string_view("string") : body.substr(0, colon);
        name = colon == std::string_view::npos ? body : body.substr(colon + 1);
      }
      ++pos;  // '>'
      if (name.empty()) return fail(rule_syntax::empty_parameter_name);
      if (!name_start(name.front())) return fail(rule_syntax::invalid_parameter_name);
      for (char c : name) {
        if (!name_char(c)) return fail(rule_syntax::invalid_parameter_name);
      }
      converter_kind kind{};
      if (conv == "string") {
        kind = converter_kind::string;
      } else if (conv == "int") {
        kind = converter_kind::int_;
      } else if (conv == "float") {
        kind = converter_kind::float_;
      } else if (conv == "path") {
        kind = converter_kind::path;
      } else if (conv == "uuid") {
        kind = converter_kind::uuid;
      } else if (conv == "any") {
        kind = converter_kind::any;
      } else {
        return fail(rule_syntax::unknown_converter);
      }
      if (kind == converter_kind::any) {
        if (!has_args) return fail(rule_syntax::any_without_choices);
        std::size_t i = 0;
        while (true) {
          while (i < args.size() && blank(args[i])) ++i;
          std::string_view choice;
          if (i < args.size() && (args[i] == '\'' || args[i] == '"')) {
            const char quote = args[i++];
            const std::size_t close = args.find(quote, i);
            if (close == std::string_view::npos) return fail(rule_syntax::unclosed_quote);
            choice = args.substr(i, close - i);
            i = close + 1;
            while (i < args.size() && blank(args[i])) ++i;
            if (i < args.size() && args[i] != ',')
              return fail(rule_syntax::text_after_quoted_choice);
          } else {
            const std::size_t comma = args.find(',', i);
            choice = args.substr(i, comma == std::string_view::npos ? args.npos : comma - i);
            while (!choice.empty() && blank(choice.front())) choice.remove_prefix(1);
            while (!choice.empty() && blank(choice.back())) choice.remove_suffix(1);
            if (choice.find_first_of("'\"") != std::string_view::npos) {
              return fail(rule_syntax::stray_quote);
            }
            i = comma == std::string_view::npos ? args.size() : comma;
          }
          if (choice.empty()) return fail(rule_syntax::empty_choice);
          if (choice.find('/') != std::string_view::npos) {
            return fail(rule_syntax::choice_contains_slash);
          }
          if (i >= args.size()) break;
          ++i;  // ','
        }
      } else if (has_args) {
        return fail(rule_syntax::converter_takes_no_arguments);
      }
      if (after_path) return fail(rule_syntax::converter_after_path);
      after_path = kind == converter_kind::path;
      // Names seen so far, for the duplicate check; past the first few, registration checks.
      for (std::size_t i = 0; i < out.param_count && i < max_names; ++i) {
        if (names[i] == name) return fail(rule_syntax::duplicate_parameter_name);
      }
      if (out.param_count < max_names) names[out.param_count] = name;
      on_param(out.param_count, kind);
      ++out.param_count;
      if (pos < p.size() && p[pos] != '/') return fail(rule_syntax::mixes_text_and_converter);
      previous_empty = false;
    } else {
      const std::size_t start = pos;
      while (pos < p.size() && p[pos] != '/') {
        if (p[pos] == '<') return fail(rule_syntax::mixes_text_and_converter);
        if (p[pos] == '>') return fail(rule_syntax::unmatched_close_angle);
        ++pos;
      }
      previous_empty = pos == start;
    }
    if (pos == p.size()) break;
    ++pos;  // '/'
  }
  return out;
}

}  // namespace vial::detail
