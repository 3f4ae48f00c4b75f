#include "vial/routing/rule.hpp"

#include <algorithm>
#include <utility>

#include "vial/routing/error.hpp"

namespace vial {

namespace {

class rule_parser {
 public:
  explicit rule_parser(std::string_view pattern) : pattern_(pattern) {}

  std::vector<rule::segment> parse() {
    if (pattern_.empty() || pattern_.front() != '/') fail("must start with '/'");
    std::vector<rule::segment> out;
    pos_ = 1;
    while (true) {
      out.push_back(parse_segment());
      if (pos_ == pattern_.size()) break;
      ++pos_;  // the '/'
    }
    check_segments(out);
    return out;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    std::string message = "rule '";
    message.append(pattern_);
    message += "' ";
    message.append(what);
    throw setup_error(std::move(message));
  }

  rule::segment parse_segment() {
    std::size_t start = pos_;
    if (pos_ < pattern_.size() && pattern_[pos_] == '<') {
      rule::segment seg = parse_param();
      if (pos_ < pattern_.size() && pattern_[pos_] != '/') mixed();
      return seg;
    }
    while (pos_ < pattern_.size() && pattern_[pos_] != '/') {
      if (pattern_[pos_] == '<') mixed();
      if (pattern_[pos_] == '>') fail("has a '>' without a matching '<'");
      ++pos_;
    }
    rule::segment seg;
    seg.text = std::string(pattern_.substr(start, pos_ - start));
    return seg;
  }

  [[noreturn]] void mixed() const {
    fail("mixes text and a converter in one segment; give the converter a segment of its own");
  }

  static bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  static bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

  static bool is_identifier(std::string_view s) noexcept {
    if (s.empty() || !is_name_start(s.front())) return false;
    return std::all_of(s.begin(), s.end(), is_name_char);
  }

  // At '<'. Reads `<name>`, `<conv:name>` or `<conv(args):name>` and leaves pos_ after '>'.
  rule::segment parse_param() {
    ++pos_;
    std::size_t start = pos_;
    std::string_view args;
    bool has_args = false;
    while (pos_ < pattern_.size() && pattern_[pos_] != '>' && pattern_[pos_] != '(' &&
           pattern_[pos_] != '/' && pattern_[pos_] != '<') {
      ++pos_;
    }
    if (pos_ < pattern_.size() && pattern_[pos_] == '(') {
      std::size_t conv_end = pos_;
      std::size_t args_start = ++pos_;
      char quote = 0;
      while (pos_ < pattern_.size() && (quote != 0 || pattern_[pos_] != ')')) {
        char c = pattern_[pos_];
        if (quote != 0 && c == quote) {
          quote = 0;
        } else if (quote == 0 && (c == '\'' || c == '"')) {
          quote = c;
        }
        ++pos_;
      }
      if (pos_ == pattern_.size()) fail("has an unclosed '(' in a converter");
      args = pattern_.substr(args_start, pos_ - args_start);
      has_args = true;
      ++pos_;  // ')'
      std::string_view conv_name = pattern_.substr(start, conv_end - start);
      if (pos_ == pattern_.size() || pattern_[pos_] != ':') {
        fail("needs ':name' after converter arguments, as in <any(a,b):name>");
      }
      ++pos_;
      return finish_param(conv_name, args, has_args);
    }
    if (pos_ == pattern_.size() || pattern_[pos_] != '>') fail("has an unclosed '<'");
    std::string_view body = pattern_.substr(start, pos_ - start);
    ++pos_;
    auto colon = body.find(':');
    if (colon == std::string_view::npos) return make_param("string", {}, false, body);
    return make_param(body.substr(0, colon), {}, false, body.substr(colon + 1));
  }

  // After `conv(args):`; reads the name up to '>'.
  rule::segment finish_param(std::string_view conv_name, std::string_view args, bool has_args) {
    std::size_t start = pos_;
    while (pos_ < pattern_.size() && pattern_[pos_] != '>' && pattern_[pos_] != '/' &&
           pattern_[pos_] != '<') {
      ++pos_;
    }
    if (pos_ == pattern_.size() || pattern_[pos_] != '>') fail("has an unclosed '<'");
    std::string_view name = pattern_.substr(start, pos_ - start);
    ++pos_;
    return make_param(conv_name, args, has_args, name);
  }

  rule::segment make_param(std::string_view conv_name, std::string_view args, bool has_args,
                           std::string_view name) {
    rule::segment seg;
    seg.is_param = true;
    if (name.empty()) fail("has a parameter with an empty name");
    if (!is_identifier(name)) {
      fail("has an invalid parameter name '" + std::string(name) +
           "' (letters, digits and '_', not starting with a digit)");
    }
    seg.text = std::string(name);
    if (conv_name == "string") {
      seg.conv.kind = converter_kind::string;
    } else if (conv_name == "int") {
      seg.conv.kind = converter_kind::int_;
    } else if (conv_name == "float") {
      seg.conv.kind = converter_kind::float_;
    } else if (conv_name == "path") {
      seg.conv.kind = converter_kind::path;
    } else if (conv_name == "uuid") {
      seg.conv.kind = converter_kind::uuid;
    } else if (conv_name == "any") {
      seg.conv.kind = converter_kind::any;
    } else {
      fail("uses unknown converter '" + std::string(conv_name) + "'");
    }
    if (seg.conv.kind == converter_kind::any) {
      if (!has_args) fail("uses converter 'any' without choices; write any(a,b,c)");
      seg.conv.choices = parse_choices(args);
    } else if (has_args) {
      fail("passes arguments to converter '" + std::string(conv_name) + "', which takes none");
    }
    return seg;
  }

  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  // `a, 'b', "c"`: comma separated, each bare or quoted.
  std::vector<std::string> parse_choices(std::string_view args) const {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (true) {
      while (i < args.size() && (args[i] == ' ' || args[i] == '\t')) ++i;
      std::string choice;
      if (i < args.size() && (args[i] == '\'' || args[i] == '"')) {
        char quote = args[i++];
        std::size_t close = args.find(quote, i);
        if (close == std::string_view::npos) fail("has an unclosed quote in any(...)");
        choice = std::string(args.substr(i, close - i));
        i = close + 1;
        while (i < args.size() && (args[i] == ' ' || args[i] == '\t')) ++i;
        if (i < args.size() && args[i] != ',') fail("has text after a quoted choice in any(...)");
      } else {
        std::size_t comma = args.find(',', i);
        std::string_view raw =
            args.substr(i, comma == std::string_view::npos ? args.npos : comma - i);
        raw = trim(raw);
        if (raw.find_first_of("'\"") != std::string_view::npos) {
          fail("has a stray quote in any(...)");
        }
        choice = std::string(raw);
        i = comma == std::string_view::npos ? args.size() : comma;
      }
      if (choice.empty()) fail("has an empty choice in any(...)");
      if (choice.find('/') != std::string::npos) {
        fail("has a choice containing '/' in any(...)");
      }
      if (std::find(out.begin(), out.end(), choice) == out.end()) out.push_back(std::move(choice));
      if (i >= args.size()) break;
      ++i;  // ','
    }
    return out;
  }

  void check_segments(const std::vector<rule::segment>& segs) const {
    bool after_path = false;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const auto& s = segs[i];
      if (!s.is_param && s.text.empty() && i + 1 != segs.size()) fail("has an empty segment");
      if (s.is_param) {
        if (after_path) fail("has a converter after a path converter");
        if (s.conv.kind == converter_kind::path) after_path = true;
        for (std::size_t j = 0; j < i; ++j) {
          if (segs[j].is_param && segs[j].text == s.text) {
            fail("uses parameter name '" + s.text + "' twice");
          }
        }
      }
    }
  }

  std::string_view pattern_;
  std::size_t pos_ = 0;
};

}  // namespace

rule rule::parse(std::string_view pattern) {
  rule out;
  out.segments_ = rule_parser(pattern).parse();
  out.pattern_ = std::string(pattern);
  return out;
}

std::vector<const rule::segment*> rule::params() const {
  std::vector<const segment*> out;
  for (const auto& s : segments_) {
    if (s.is_param) out.push_back(&s);
  }
  return out;
}

bool rule::has_trailing_slash() const noexcept {
  return !segments_.empty() && !segments_.back().is_param && segments_.back().text.empty();
}

}  // namespace vial
