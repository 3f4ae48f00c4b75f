#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vial/detail/handler.hpp"
#include "vial/detail/scope.hpp"
#include "vial/http/error.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"
#include "vial/log.hpp"
#include "vial/routing/router.hpp"

namespace vial::detail {

/// Flask's full_dispatch_request for one request, written once as named steps:
/// preprocess (before_request hooks), dispatch_request (the handler, the request's refusal, or
/// the routing miss), handle_user_exception (error handlers), finalize_request (after_request
/// hooks) and do_teardown_request (teardown hooks, always).
///
/// It calls no user code itself. `next()` says which slot runs next; the driver calls it, as
/// a plain call or awaited, and hands back what it returned (`returned`) or threw (`failed`).
/// So the plain loop of `app::dispatch` and the coroutine `app::dispatch_async` share every
/// decision: the order of hooks, which error handler answers, what teardown sees, and the
/// routing misses, which are answered here and only here.
class pipeline {
 public:
  /// What the driver calls next.
  enum class step {
    before,           ///< `before_hook()(req)`, returning std::optional<response>
    handler,          ///< `handler()(req)`, returning a response
    error_by_type,    ///< `type_handler()(req, exception())`, returning a response
    error_by_status,  ///< `status_handler()(req, error())`, returning a response
    after,            ///< `after_hook()(req, result())`, returning a response
    teardown,         ///< `teardown_hook()(req, unhandled())`, returning nothing
    finished,         ///< `take_response()`
  };

  /// `scopes` innermost first, the app last; `handler` is null on a routing miss, which
  /// `match` describes. `label` names the route in logs (empty: "METHOD path").
  pipeline(request& req, std::span<const scope* const> scopes, const route_handler* handler,
           const route_match& match, std::string_view label, const logger& log)
      : req_(req), scopes_(scopes), handler_(handler), match_(match), label_(label), log_(log) {
    scope_ = scopes_.size();  // before_request hooks run from the app inwards
  }
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;

  step next();
  /// What the current slot returned.
  void returned(std::optional<response> early);  // before
  void returned(vial::response r);               // handler, error handlers, after
  void returned();                               // teardown
  /// What the current slot threw.
  void failed(std::exception_ptr e);
  /// The whole request was cancelled (its client left, or the server stopped): what its slots
  /// throw from now on is logged at debug level, not as an unhandled error.
  void cancelled() noexcept { cancelled_ = true; }

  request& req() const noexcept { return req_; }
  const before_slot& before_hook() const { return scopes_[scope_ - 1]->before[hook_]; }
  const route_handler& handler() const noexcept { return *handler_; }
  const error_slot& type_handler() const noexcept { return *plan_.by_type; }
  const std::exception_ptr& exception() const noexcept { return plan_.exception; }
  const status_slot& status_handler() const noexcept { return *plan_.by_status; }
  const http_error& error() const noexcept { return *plan_.error; }
  const after_slot& after_hook() const {  // reverse registration order, as Flask
    const auto& after = scopes_[scope_]->after;
    return after[after.size() - 1 - hook_];
  }
  vial::response& result() noexcept { return res_; }
  const teardown_slot& teardown_hook() const {
    const auto& teardown = scopes_[scope_]->teardown;
    return teardown[teardown.size() - 1 - hook_];
  }
  /// The exception that escaped every error handler, or null: what teardown hooks see.
  const std::exception_ptr& unhandled() const noexcept { return unhandled_; }
  vial::response take_response() noexcept { return std::move(res_); }
  /// The route's label, or "METHOD path" for a routing miss (made when asked: it names the
  /// request in error logs only, and the pipeline lives in a held request's coroutine frame).
  std::string label() const;

 private:
  enum class stage { preprocess, dispatch, handling, finalize, teardown, done };

  /// Which error handler answers an error, decided before calling anything.
  struct error_plan {
    const error_slot* by_type = nullptr;
    const status_slot* by_status = nullptr;
    std::exception_ptr exception;       // what a type handler sees; keeps a thrown `error`
    const http_error* error = nullptr;  // the answer's status and headers; null for a type
                                        // handler of an exception that is no HTTP error
    std::optional<http_error> owned{};  // an error never thrown, or made for an exception
  };

  void enter(stage s);
  /// handle_user_exception: an exception, or an HTTP error that was never thrown (a routing
  /// miss, a refusal), which is made an exception only when a type handler must see it.
  void handle(std::exception_ptr e);
  void handle(http_error e);
  /// The error step is over: go on with after_request hooks, or with teardown when they failed.
  void handled(vial::response r);
  /// dispatch_request without a handler: the refusal or the routing miss.
  void dispatch_without_handler();

  request& req_;
  std::span<const scope* const> scopes_;
  const route_handler* handler_;
  const route_match& match_;
  std::string_view label_;
  const logger& log_;

  stage stage_ = stage::preprocess;
  stage after_handling_ = stage::finalize;
  std::size_t scope_ = 0;  // preprocess: one past the scope; finalize and teardown: the scope
  std::size_t hook_ = 0;
  error_plan plan_;
  vial::response res_;
  std::exception_ptr unhandled_;
  bool cancelled_ = false;
};

}  // namespace vial::detail
