#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vial/routing/converter.hpp"

namespace vial {

/// One parsed URL rule: "/users/<int:id>/posts/<path:rest>".
/// Distinct objects: safe. Shared objects: safe for const access.
class rule {
 public:
  /// One segment between slashes: literal text, or one converter. A rule whose text ends with
  /// '/' has an empty last literal segment (Flask's strict slashes).
  struct segment {
    bool is_param = false;
    std::string text;  ///< the literal, or the parameter name
    converter conv;
  };

  /// Parses `pattern`; throws `setup_error` naming the rule on a pattern that does not start
  /// with '/', an unknown converter, a malformed `<...>`, an invalid or duplicate parameter
  /// name, an empty segment other than the trailing one ("/a//b"), text mixed with a converter
  /// inside one segment ("/file-<int:id>": not supported, give the converter its own segment),
  /// arguments to a converter other than `any`, or a `path` converter followed by more
  /// converters (literal segments after it are fine: "/<path:p>/edit").
  /// `any` choices are comma separated, bare or quoted: `any(a, 'b', "c d")`.
  static rule parse(std::string_view pattern);

  const std::string& pattern() const noexcept { return pattern_; }
  const std::vector<segment>& segments() const noexcept { return segments_; }
  /// The parameters, in order, with their converters.
  std::vector<const segment*> params() const;
  bool has_trailing_slash() const noexcept;

 private:
  std::string pattern_;
  std::vector<segment> segments_;
};

}  // namespace vial
