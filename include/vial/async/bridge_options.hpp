#pragma once

#include <string_view>

namespace vial {

class blocking_pool;
class logger;

/// How one `async_to_sync` run reports and where its blocking work goes.
struct bridge_options {
  /// Names the work in warnings (the app passes "GET /users/<int:id>").
  std::string_view label{};
  /// Where leftover-work warnings go; the default logger when null.
  const logger* log = nullptr;
  /// The pool `to_thread` uses inside this run; the process default when null.
  blocking_pool* pool = nullptr;
};

}  // namespace vial
