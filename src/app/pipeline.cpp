#include "pipeline.hpp"

#include <string>
#include <utility>

#include "http/internal_error.hpp"
#include "vial/async/error.hpp"
#include "vial/http/json.hpp"

namespace vial::detail {

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

const status_slot* find_status(std::span<const scope* const> scopes, int code) {
  for (const auto* s : scopes) {
    if (auto it = s->by_status.find(code); it != s->by_status.end()) return &it->second;
  }
  return nullptr;
}

const error_slot* find_type(std::span<const scope* const> scopes, const std::exception_ptr& e) {
  for (const auto* s : scopes) {
    for (const auto& h : s->by_type) {
      if (h.catches(e)) return &h.handler;
    }
  }
  return nullptr;
}

bool has_type_handlers(std::span<const scope* const> scopes) {
  for (const auto* s : scopes) {
    if (!s->by_type.empty()) return true;
  }
  return false;
}

void log_unhandled(const logger& log, std::string_view label, std::exception_ptr e, int code) {
  const auto message = std::string(label) + ": unhandled exception (" + std::to_string(code) +
                       "): " + describe_exception(e);
  if (code >= 500 && code != 502 && code != 503 && code != 504) {
    log.error(message);
  } else {
    log.warning(message);
  }
}

}  // namespace

std::string pipeline::label() const {
  if (!label_.empty()) return std::string(label_);
  return std::string(req_.method_name()).append(" ").append(req_.path());
}

void pipeline::enter(stage s) {
  stage_ = s;
  hook_ = 0;
  scope_ = s == stage::preprocess ? scopes_.size() : 0;
}

pipeline::step pipeline::next() {
  for (;;) {
    switch (stage_) {
      case stage::preprocess:
        for (; scope_ > 0; --scope_, hook_ = 0) {
          if (hook_ < scopes_[scope_ - 1]->before.size()) return step::before;
        }
        stage_ = stage::dispatch;
        break;
      case stage::dispatch:
        if (handler_ && !req_.refusal()) return step::handler;
        dispatch_without_handler();
        break;
      case stage::handling:
        if (plan_.by_type) return step::error_by_type;
        if (plan_.by_status) return step::error_by_status;
        handled(default_error_response(req_, *plan_.error));
        break;
      case stage::finalize:
        for (; scope_ < scopes_.size(); ++scope_, hook_ = 0) {
          if (hook_ < scopes_[scope_]->after.size()) return step::after;
        }
        enter(stage::teardown);
        break;
      case stage::teardown:
        for (; scope_ < scopes_.size(); ++scope_, hook_ = 0) {
          if (hook_ < scopes_[scope_]->teardown.size()) return step::teardown;
        }
        stage_ = stage::done;
        break;
      case stage::done:
        return step::finished;
    }
  }
}

void pipeline::returned(std::optional<vial::response> early) {
  if (!early) {
    ++hook_;
    return;
  }
  res_ = std::move(*early);  // the handler is skipped; after_request hooks still run
  enter(stage::finalize);
}

void pipeline::returned(vial::response r) {
  switch (stage_) {
    case stage::dispatch:
      res_ = std::move(r);
      enter(stage::finalize);
      return;
    case stage::handling:
      // A type handler of an exception that is not an HTTP error has no headers to keep.
      handled(plan_.error ? with_error_headers(std::move(r), *plan_.error) : std::move(r));
      return;
    default:  // finalize
      res_ = std::move(r);
      ++hook_;
      return;
  }
}

void pipeline::returned() { ++hook_; }

void pipeline::failed(std::exception_ptr e) {
  switch (stage_) {
    case stage::preprocess:
    case stage::dispatch:
      after_handling_ = stage::finalize;
      handle(std::move(e));
      return;
    case stage::handling:
      // A failing error handler is not handled again: a plain 500, and teardown sees why.
      log_.error("error handler failed: " + describe_exception(e));
      unhandled_ = std::move(e);
      handled(internal_error_response());
      return;
    case stage::finalize:
      after_handling_ = stage::teardown;  // the remaining after_request hooks are skipped
      handle(std::move(e));
      return;
    case stage::teardown:
    case stage::done:
      log_.error("teardown hook failed: " + describe_exception(e));
      ++hook_;
      return;
  }
}

void pipeline::handle(std::exception_ptr e) {
  plan_.by_type = nullptr;
  plan_.by_status = nullptr;
  plan_.error = nullptr;
  const http_error* http = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (const http_error& ex) {
    http = &ex;  // kept alive by `e`
  } catch (...) {
  }
  stage_ = stage::handling;
  if (http) {
    // By status first, then by type (errorhandler<http_error>), as Flask.
    plan_.error = http;
    plan_.exception = e;
    if ((plan_.by_status = find_status(scopes_, http->status()))) return;
    plan_.by_type = find_type(scopes_, e);
    return;
  }
  plan_.exception = e;
  if ((plan_.by_type = find_type(scopes_, e))) return;
  // No handler takes it: logged, seen by teardown, answered by its status.
  plan_.error = &plan_.owned.emplace(error_for_unhandled(e));
  if (cancelled_) {
    log_.debug(label() +
               ": cancelled (the client left or the server stopped): " + describe_exception(e));
  } else {
    log_unhandled(log_, label(), e, plan_.error->status());
  }
  unhandled_ = std::move(e);
  plan_.by_status = find_status(scopes_, plan_.error->status());
}

void pipeline::handle(http_error e) {
  plan_.by_type = nullptr;
  plan_.by_status = nullptr;
  plan_.exception = nullptr;
  stage_ = stage::handling;
  plan_.error = &plan_.owned.emplace(std::move(e));
  if ((plan_.by_status = find_status(scopes_, plan_.error->status()))) return;
  // Only an `errorhandler<http_error>` (or a base of it) needs the error as an exception.
  if (has_type_handlers(scopes_)) {
    plan_.exception = std::make_exception_ptr(*plan_.error);
    plan_.by_type = find_type(scopes_, plan_.exception);
  }
}

void pipeline::handled(vial::response r) {
  res_ = std::move(r);
  enter(after_handling_);
}

void pipeline::dispatch_without_handler() {
  after_handling_ = stage::finalize;
  if (const http_error* refusal = req_.refusal()) {
    handle(*refusal);  // in place of the handler, as Flask raises a routing error
    return;
  }
  using outcome = route_match::outcome;
  switch (match_.result) {
    case outcome::found:  // a route without a handler: not something routing produces
    case outcome::not_found:
      handle(http_error(404, "The requested URL was not found on the server."));
      return;
    case outcome::method_not_allowed:
      if (req_.method() == method::options) {
        // Automatic OPTIONS, with the hooks of a route at this path around it.
        res_ = vial::response(std::string(), 200, {});
        res_.set_header("Allow", match_.allowed);
        enter(stage::finalize);
        return;
      }
      handle(http_error(405, "The method is not allowed for the requested URL.",
                        vial::headers{{"Allow", match_.allowed}}));
      return;
    case outcome::redirect: {
      // Flask's strict slashes: 308 to the rule with the slash, keeping the query.
      std::string location = std::string(req_.script_root()) + match_.location;
      if (!req_.query_string().empty()) location.append("?").append(req_.query_string());
      res_ = redirect(location, 308);
      enter(stage::finalize);
      return;
    }
  }
}

}  // namespace vial::detail
