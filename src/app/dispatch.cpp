// app::dispatch: Flask's full_dispatch_request, once as plain calls and once as a coroutine.
// A request takes the coroutine path only when a callable in its chain is a coroutine, and
// then the whole chain runs in a single async_to_sync run.

#include <exception>
#include <span>
#include <string>

#include "vial/log.hpp"
#include "vial/app/app.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/error.hpp"
#include "vial/http/error.hpp"
#include "vial/http/json.hpp"

namespace vial {

namespace {


bool wants_json(const request& req) {
  auto accept = req.header("Accept");
  return accept && accept->find("application/json") != std::string_view::npos &&
         accept->find("text/html") == std::string_view::npos;
}

/// What an unhandled HTTP error looks like: JSON for clients that ask for it, else plain text.
response default_error_response(const request& req, const http_error& e) {
  response r;
  if (wants_json(req)) {
    r = response::json({{"error", e.description()}, {"status", e.status()}}, e.status());
  } else {
    r = response::text(std::to_string(e.status()) + " " + std::string(reason_phrase(e.status())) +
                           ": " + e.description() + "\n",
                       e.status());
  }
  for (const auto& [name, value] : e.headers()) r.set_header(name, value);
  return r;
}

/// Headers the error requires (Allow on 405, Retry-After...) survive a custom handler.
response with_error_headers(response r, const http_error& e) {
  for (const auto& [name, value] : e.headers()) {
    if (!r.headers().contains(name)) r.set_header(name, value);
  }
  return r;
}

response plain_500() {
  return response::text("500 Internal Server Error\n", 500);
}

}  // namespace

struct app::dispatch_state {
  request& req;
  route_match match;
  const route_entry* route = nullptr;
  std::span<const detail::scope* const> scopes{};  // innermost first; the app last
  const detail::scope* app_only[1] = {nullptr};  // storage for `scopes` on a routing miss
  std::string miss_label{};                       // "GET /path", built only when needed
  std::string_view label() {
    if (route) return route->label;
    if (miss_label.empty()) miss_label = std::string(req.method_name()) + " " + std::string(req.path());
    return miss_label;
  }
  std::exception_ptr unhandled{};  // what teardown hooks see
};

namespace {

/// Which error handler answers an exception, decided without calling anything, so the plain
/// and the coroutine chains share it.
struct error_plan {
  const detail::error_slot* by_type = nullptr;
  const detail::status_slot* by_status = nullptr;
  http_error error{500};
  bool unhandled = false;  // no handler took the original exception: logged, seen by teardown
};

/// The answer to an exception no handler took: 500, unless the exception says otherwise.
http_error error_for_unhandled(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const timeout_error&) {
    return http_error(504, "The upstream did not answer in time.");
  } catch (const overload_error&) {
    return http_error(503, "The server is busy; retry shortly.",
                      vial::headers{{"Retry-After", "1"}});
  } catch (const error_status& s) {
    return http_error(s.http_status(), s.http_description());
  } catch (...) {
    return http_error(500);
  }
}

const detail::status_slot* find_status(std::span<const detail::scope* const> scopes, int code) {
  for (const auto* s : scopes) {
    if (auto it = s->by_status.find(code); it != s->by_status.end()) return &it->second;
  }
  return nullptr;
}

const detail::error_slot* find_type(std::span<const detail::scope* const> scopes,
                                    const std::exception_ptr& e) {
  for (const auto* s : scopes) {
    for (const auto& h : s->by_type) {
      if (h.catches(e)) return &h.handler;
    }
  }
  return nullptr;
}

error_plan plan_error(std::span<const detail::scope* const> scopes, std::exception_ptr e) {
  error_plan plan;
  const http_error* http = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (const http_error& ex) {
    http = &ex;  // kept alive by `e`
  } catch (...) {
  }
  if (http) {
    plan.error = *http;
    if ((plan.by_status = find_status(scopes, http->status()))) return plan;
    plan.by_type = find_type(scopes, e);
    return plan;
  }
  if ((plan.by_type = find_type(scopes, e))) return plan;
  plan.unhandled = true;
  plan.error = error_for_unhandled(e);
  plan.by_status = find_status(scopes, plan.error.status());
  return plan;
}

void log_unhandled(const logger& log, std::string_view label, std::exception_ptr e, int code) {
  const auto message = std::string(label) + ": unhandled exception (" + std::to_string(code) + "): " + describe_exception(e);
  if (code >= 500 && code != 502 && code != 503 && code != 504) {
    log.error(message);
  } else {
    log.warning(message);
  }
}

}  // namespace

response app::dispatch(request& req) const {
  if (!is_frozen()) freeze();
  // A refused request whose path could not be parsed (empty) matches nothing.
  dispatch_state st{req, req.path().empty() ? route_match{}
                                            : router_.match(req.method_name(), req.path())};
  bool chain_async = miss_chain_async_;
  req.set_max_json_bytes(options_.max_json_bytes);
  if (st.match.result == route_match::outcome::found) {
    st.route = &routes_[st.match.route];
    st.scopes = st.route->scopes;
    chain_async = st.route->chain_async;
    req.set_max_json_bytes(st.route->max_json_bytes);
    req.set_params(std::move(st.match.params));
  } else if (const route_entry* sibling = options_route(st.match, req)) {
    // Automatic OPTIONS answers for the routes at this path: their hooks (a blueprint's auth
    // check) run as they would for the routes themselves, as in Flask.
    st.scopes = sibling->scopes;
    chain_async = sibling->chain_async;
  } else {
    st.app_only[0] = &scope_;
    st.scopes = st.app_only;
  }
  if (!chain_async) return dispatch_sync(st);
  try {
    // The factory form creates the chain's coroutine frames inside the bridge's run, where
    // Asio recycles their memory.
    const bridge_options options = st.route ? st.route->bridge : bridge_options_for(st.label());
    return detail::bridge_call([this, &st] { return dispatch_async(st); }, options);
  } catch (const bridge_error& e) {
    logger_.error(std::string(st.label()) + ": " + e.what());
    return plain_500();
  }
}

task<response> app::dispatch_on_loop(request& req) const {
  if (!is_frozen()) freeze();
  // The setup of dispatch() for a route event_loop_route found, then the coroutine chain on
  // the awaiting executor (no bridge run: the caller's executor is the request's scope).
  dispatch_state st{req, req.path().empty() ? route_match{}
                                            : router_.match(req.method_name(), req.path())};
  req.set_max_json_bytes(options_.max_json_bytes);
  if (st.match.result == route_match::outcome::found) {
    st.route = &routes_[st.match.route];
    st.scopes = st.route->scopes;
    req.set_max_json_bytes(st.route->max_json_bytes);
    req.set_params(std::move(st.match.params));
  } else {
    st.app_only[0] = &scope_;
    st.scopes = st.app_only;
  }
  co_return co_await dispatch_async(st);
}

const app::route_entry* app::options_route(const route_match& m, const request& req) const {
  if (m.result != route_match::outcome::method_not_allowed || req.method() != method::options) {
    return nullptr;
  }
  // "GET, HEAD, OPTIONS": any method but OPTIONS finds a route at this path.
  std::string_view allowed = m.allowed;
  while (!allowed.empty()) {
    auto comma = allowed.find(',');
    std::string_view token = allowed.substr(0, comma);
    while (token.starts_with(' ')) token.remove_prefix(1);
    if (token != "OPTIONS") {
      auto found = router_.match(token, req.path());
      if (found.result == route_match::outcome::found) return &routes_[found.route];
    }
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return nullptr;
}

namespace {

bool has_type_handlers(std::span<const detail::scope* const> scopes) {
  for (const auto* s : scopes) {
    if (!s->by_type.empty()) return true;
  }
  return false;
}

/// The answer for a request no handler takes: 404, 405 (+ Allow), automatic OPTIONS, or the
/// strict-slash redirect. Null when a route was found.
std::optional<response> routing_answer(const request& req, const route_match& m,
                                       std::optional<http_error>& error) {
  using outcome = route_match::outcome;
  switch (m.result) {
    case outcome::found:
      return std::nullopt;
    case outcome::not_found:
      error.emplace(404, "The requested URL was not found on the server.");
      return std::nullopt;
    case outcome::method_not_allowed:
      if (req.method() == method::options) {
        response r(std::string(), 200, {});
        r.set_header("Allow", m.allowed);
        return r;
      }
      error.emplace(405, "The method is not allowed for the requested URL.",
                    vial::headers{{"Allow", m.allowed}});
      return std::nullopt;
    case outcome::redirect: {
      std::string location = m.location;
      if (!req.query_string().empty()) location.append("?").append(req.query_string());
      return redirect(location, 308);
    }
  }
  return std::nullopt;
}

}  // namespace

response app::dispatch_sync(dispatch_state& st) const {
  request& req = st.req;
  const auto& scopes = st.scopes;
  auto handle = [&](std::exception_ptr e) -> response {
    auto plan = plan_error(scopes, e);
    if (plan.unhandled) {
      st.unhandled = e;
      log_unhandled(logger_, st.label(), e, plan.error.status());
    }
    try {
      if (plan.by_type) return with_error_headers(plan.by_type->sync(req, e), plan.error);
      if (plan.by_status) return with_error_headers(plan.by_status->sync(req, plan.error), plan.error);
      return default_error_response(req, plan.error);
    } catch (...) {
      logger_.error("error handler failed: " + describe_exception(std::current_exception()));
      st.unhandled = std::current_exception();
      return plain_500();
    }
  };
  auto handle_miss = [&](const http_error& err) -> response {
    if (const auto* h = find_status(scopes, err.status())) {
      try {
        return with_error_headers(h->sync(req, err), err);
      } catch (...) {
        // A failing error handler is not handled again: plain 500, as in handle().
        logger_.error("error handler failed: " + describe_exception(std::current_exception()));
        st.unhandled = std::current_exception();
        return plain_500();
      }
    }
    return default_error_response(req, err);
  };

  response res;
  try {
    std::optional<response> early;
    for (auto s = scopes.rbegin(); s != scopes.rend() && !early; ++s) {
      for (const auto& hook : (*s)->before) {
        if ((early = hook.sync(req))) break;
      }
    }
    if (early) {
      res = std::move(*early);
    } else if (const http_error* refusal = req.refusal()) {
      throw *refusal;  // in place of the handler, as Flask raises a routing error
    } else if (st.route && st.route->handler.is_async()) {
      const bridge_options& options = st.route->bridge;
      const auto& handler = st.route->handler;
      res = handler.bridged ? handler.bridged(req, options)
                            : detail::bridge_call([&] { return handler.async(req); }, options);
    } else if (st.route) {
      res = st.route->handler.sync(req);
    } else {
      std::optional<http_error> miss;
      if (auto answer = routing_answer(req, st.match, miss)) {
        res = std::move(*answer);
      } else if (!find_status(scopes, miss->status()) && has_type_handlers(scopes)) {
        throw *miss;  // for an `errorhandler<http_error>`; without one a miss throws nothing
      } else {
        res = handle_miss(*miss);
      }
    }
  } catch (...) {
    res = handle(std::current_exception());
  }
  try {
    for (const auto* s : scopes) {
      for (auto h = s->after.rbegin(); h != s->after.rend(); ++h) res = h->sync(req, res);
    }
  } catch (...) {
    res = handle(std::current_exception());
  }
  for (const auto* s : scopes) {
    for (auto h = s->teardown.rbegin(); h != s->teardown.rend(); ++h) {
      try {
        h->sync(req, st.unhandled);
      } catch (...) {
        logger_.error("teardown hook failed: " + describe_exception(std::current_exception()));
      }
    }
  }
  return res;
}

task<response> app::dispatch_async(dispatch_state& st) const {
  request& req = st.req;
  const auto& scopes = st.scopes;
  // The same chain as dispatch_sync, awaiting each slot. Error handling is written out rather
  // than shared through a lambda because co_await is not allowed inside a catch block.
  auto handle = [&](std::exception_ptr e) -> task<response> {
    auto plan = plan_error(scopes, e);
    if (plan.unhandled) {
      st.unhandled = e;
      log_unhandled(logger_, st.label(), e, plan.error.status());
    }
    std::exception_ptr failed;
    try {
      if (plan.by_type) {
        auto op = plan.by_type->call(req, e);
        co_return with_error_headers(co_await std::move(op), plan.error);
      }
      if (plan.by_status) {
        auto op = plan.by_status->call(req, plan.error);
        co_return with_error_headers(co_await std::move(op), plan.error);
      }
      co_return default_error_response(req, plan.error);
    } catch (...) {
      failed = std::current_exception();
    }
    logger_.error("error handler failed: " + describe_exception(failed));
    st.unhandled = failed;
    co_return plain_500();
  };

  response res;
  std::exception_ptr error;
  try {
    std::optional<response> early;
    for (auto s = scopes.rbegin(); s != scopes.rend() && !early; ++s) {
      for (const auto& hook : (*s)->before) {
        auto op = hook.call(req);
        if ((early = co_await std::move(op))) break;
      }
    }
    if (early) {
      res = std::move(*early);
    } else if (const http_error* refusal = req.refusal()) {
      throw *refusal;
    } else if (st.route) {
      if (st.route->handler.is_async()) {
        auto op = st.route->handler.async(req);
        res = co_await std::move(op);
      } else {
        res = st.route->handler.sync(req);
      }
    } else {
      std::optional<http_error> miss;
      if (auto answer = routing_answer(req, st.match, miss)) {
        res = std::move(*answer);
      } else if (!find_status(scopes, miss->status()) && has_type_handlers(scopes)) {
        throw *miss;
      } else if (const auto* h = find_status(scopes, miss->status())) {
        std::exception_ptr failed;
        try {
          auto op = h->call(req, *miss);
          res = with_error_headers(co_await std::move(op), *miss);
        } catch (...) {
          failed = std::current_exception();
        }
        if (failed) {
          logger_.error("error handler failed: " + describe_exception(failed));
          st.unhandled = failed;
          res = plain_500();
        }
      } else {
        res = default_error_response(req, *miss);
      }
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    auto op = handle(std::exchange(error, nullptr));
    res = co_await std::move(op);
  }
  try {
    for (const auto* s : scopes) {
      for (auto h = s->after.rbegin(); h != s->after.rend(); ++h) {
        auto op = h->call(req, res);
        res = co_await std::move(op);
      }
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    auto op = handle(std::exchange(error, nullptr));
    res = co_await std::move(op);
  }
  for (const auto* s : scopes) {
    for (auto h = s->teardown.rbegin(); h != s->teardown.rend(); ++h) {
      try {
        auto op = h->call(req, st.unhandled);
        co_await std::move(op);
      } catch (...) {
        error = std::current_exception();
      }
      if (error) logger_.error("teardown hook failed: " + describe_exception(std::exchange(error, nullptr)));
    }
  }
  co_return res;
}

}  // namespace vial
