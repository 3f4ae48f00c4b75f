#pragma once

#include "vial/http/error.hpp"

namespace vial::testing {

/// The status of the `http_error` that `fn` throws, or 0 when it throws none.
int status_of(auto&& fn) {
  try {
    fn();
  } catch (const vial::http_error& e) {
    return e.status();
  }
  return 0;
}

}  // namespace vial::testing
