#pragma once

#include <stdexcept>

namespace vial {

/// A mistake in setting up an app (bad rule, handler that does not fit its rule, duplicate
/// route, registration after the app started serving). Thrown while registering, never on a
/// request; the message names the rule and the fix.
class setup_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// `url_for` could not build a URL: unknown endpoint, missing parameter, or a value the
/// rule's converter would not match.
class build_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vial
