#include "vial/client/http_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "connection_pool.hpp"
#include "http/request_id.hpp"
#include "target_url.hpp"
#include "tls.hpp"
#include "vial/async/error.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/http/status.hpp"
#include "vial/http/url.hpp"
#include "vial/metrics.hpp"

namespace vial {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using detail::connection;
using detail::lease;
using detail::target_url;

namespace {

/// Whom `max_connections_per_caller` counts: the caller's execution context, or the request
/// scope of an event-loop request, since those all share the server's context.
template <class Executor>
const void* caller_key(const Executor& ex) {
  if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
    if (const auto* r = ex.template target<detail::request_executor>()) return r->scope();
  }
  return &asio::query(ex, asio::execution::context);
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool idempotent(method m) {
  return m == method::get || m == method::head || m == method::put || m == method::delete_ ||
         m == method::options || m == method::trace;
}

/// What one request/response exchange on a connection ended with.
struct exchange_result {
  boost::system::error_code ec;
  bool writing = false;    // the error happened while sending
  bool got_bytes = false;  // any byte of the response arrived
};

[[noreturn]] void throw_aborted() {
  throw boost::system::system_error(asio::error::operation_aborted);
}

/// Turns a failed exchange into the error the caller sees.
[[noreturn]] void throw_exchange_error(const exchange_result& r, const std::string& url,
                                       std::chrono::milliseconds read_timeout, std::size_t limit) {
  const auto& ec = r.ec;
  if (ec == asio::error::operation_aborted) throw_aborted();
  if (ec == beast::error::timeout) {
    throw timeout_error(std::string(r.writing ? "sending to " : "no response from ") + url +
                        " within " + ms(read_timeout) + " (read timeout)");
  }
  if (ec == http::error::body_limit) {
    throw client_error(
        client_errc::too_large,
        "response from " + url + " is larger than " + std::to_string(limit) + " bytes", ec);
  }
  if (ec == http::error::header_limit) {
    throw client_error(client_errc::too_large, "response headers from " + url + " are too large",
                       ec);
  }
  if (r.writing) {
    throw client_error(client_errc::closed,
                       "cannot send the request to " + url + ": " + ec.message(), ec);
  }
  if (ec == http::error::end_of_stream && !r.got_bytes) {
    throw client_error(client_errc::closed, url + " closed the connection without responding", ec);
  }
  if (ec == asio::error::eof || ec == http::error::partial_message ||
      ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated || ec == asio::error::broken_pipe) {
    throw client_error(client_errc::closed,
                       url + " closed the connection before the response was complete", ec);
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    throw client_error(client_errc::malformed_response,
                       "malformed response from " + url + ": " + ec.message(), ec);
  }
  throw client_error(client_errc::closed,
                     "reading the response from " + url + " failed: " + ec.message(), ec);
}

/// A stale keep-alive connection: the peer closed it while it sat in the pool.
bool looks_stale(const exchange_result& r) {
  if (r.got_bytes) return false;
  const auto& ec = r.ec;
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

/// Whether a pooled connection is already unusable: the peer closed or reset it, or sent
/// something unasked (an idle-timeout 408, a TLS close_notify) before closing. One
/// non-blocking peek, no waiting: a POST is never retried, so it is not sent on such a
/// connection in the first place.
bool peer_gone(connection& conn) noexcept {
  char byte;
  const int fd = conn.lowest().socket().native_handle();
  const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return true;  // 0: orderly close; > 0: bytes nobody asked for
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

template <class Stream>
task<exchange_result> send_receive(Stream& stream, connection& conn,
                                   http::request<http::string_body>& req,
                                   http::response_parser<http::string_body>& parser,
                                   std::chrono::milliseconds read_timeout) {
  exchange_result out;
  conn.lowest().expires_after(read_timeout);
  auto [wec, written] =
      co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  (void)written;
  if (wec) {
    out.ec = wec;
    out.writing = true;
    co_return out;
  }
  while (!parser.is_done()) {
    conn.lowest().expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read_some(stream, conn.buffer, parser,
                                                  asio::as_tuple(asio::use_awaitable));
    if (n > 0 || parser.got_some()) out.got_bytes = true;
    if (ec) {
      out.ec = ec;
      co_return out;
    }
  }
  conn.lowest().expires_never();
  co_return out;
}

}  // namespace

/// A call in flight on the client's thread; cancelling it closes its connection.
struct inflight_call {
  asio::cancellation_signal signal;
};

struct http_client::impl {
  explicit impl(client_options o)
      : options(std::move(o)),
        pool(ioc, options.pool_size_per_host, options.idle_timeout, options.pool_wait_timeout),
        limiter(ioc, options.max_connections_per_caller),
        sweep_timer(ioc),
        work(asio::make_work_guard(ioc)) {
    // An explicit CA file is checked now, where a mistake is a setup error; the system store is
    // loaded with the first https connection.
    if (!options.ca_file.empty()) tls.emplace(detail::make_tls_context(options));
    asio::co_spawn(ioc, sweep_loop(), asio::detached);
    thread = std::thread([this] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (...) {
          // Detached work has no one to report to; the calls themselves report their errors.
        }
      }
    });
  }

  ~impl() {
    asio::post(ioc, [this] {
      stopping = true;
      sweep_timer.cancel();
      pool.shutdown();
      limiter.shutdown();
      for (auto* call : inflight) call->signal.emit(asio::cancellation_type::terminal);
    });
    work.reset();
    if (thread.joinable()) thread.join();
  }

  using completion = std::function<void(std::exception_ptr, client_response)>;

  /// Starts a call on the client's thread; `done` runs there when it finishes.
  /// `caller` identifies who is calling, for `max_connections_per_caller`.
  std::shared_ptr<inflight_call> start(method m, std::string url, request_options o,
                                       const void* caller, completion done) {
    auto call = std::make_shared<inflight_call>();
    asio::post(ioc, [this, call, m, caller, url = std::move(url), o = std::move(o),
                     done = std::move(done)]() mutable {
      if (stopping) {
        done(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)),
             {});
        return;
      }
      inflight.insert(call.get());
      asio::co_spawn(ioc, settle(m, std::move(url), std::move(o), caller),
                     asio::bind_cancellation_slot(
                         call->signal.slot(),
                         [this, call, done = std::move(done)](std::exception_ptr, outcome result) {
                           inflight.erase(call.get());
                           done(std::move(result.error), std::move(result.response));
                         }));
    });
    return call;
  }

  struct outcome {
    std::exception_ptr error;
    client_response response;
  };

  /// `perform`, with its exception returned instead of thrown. The error is handed to the
  /// caller's thread by moves only, so that thread drops the last reference to the exception
  /// after reading it. Thrown into co_spawn, this thread would keep a copy until after the
  /// hand-off and could free the exception while the caller still reads it (the reference count
  /// lives in libstdc++, which ThreadSanitizer cannot see, and it reports the free as a race).
  task<outcome> settle(method m, std::string url, request_options o, const void* caller) {
    outcome result;
    try {
      result.response = co_await perform(m, std::move(url), std::move(o), caller);
    } catch (...) {
      failed.fetch_add(1, std::memory_order_relaxed);
      result.error = std::current_exception();
    }
    co_return result;
  }

  void cancel(std::shared_ptr<inflight_call> call) {
    asio::post(ioc, [call] { call->signal.emit(asio::cancellation_type::terminal); });
  }

  task<void> sweep_loop() {
    const auto period = std::clamp(options.idle_timeout / 2, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(1000));
    for (;;) {
      sweep_timer.expires_after(period);
      auto [ec] = co_await sweep_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || stopping) co_return;
      pool.sweep();
    }
  }

  /// The whole call under the request deadline.
  task<client_response> perform(method m, std::string url, request_options o, const void* caller) {
    const auto timeout = o.timeout.value_or(options.request_timeout);
    const std::string what = "request to " + url;
    co_return co_await detail::with_deadline(follow(m, url, std::move(o), caller), timeout, what);
  }

  /// Sends the request and follows redirects.
  task<client_response> follow(method m, std::string url, request_options o, const void* caller) {
    // Waiting behind the caller's own calls counts against this call's deadline.
    auto turn = co_await limiter.enter(caller);
    if (!o.query.empty()) {
      const auto hash = url.find('#');
      if (hash != std::string::npos) url.resize(hash);
      url += (url.find('?') == std::string::npos ? '?' : '&') + encode_query(o.query);
    }
    target_url target = detail::parse_target_url(url);
    std::optional<std::string> body = std::move(o.body);
    std::string content_type;
    if (!body && o.json) {
      body = o.json->dump();
      content_type = "application/json";
    } else if (body) {
      content_type = "application/octet-stream";
    }
    const std::size_t limit = o.max_response_bytes.value_or(options.max_response_bytes);
    for (int redirects = 0;; ++redirects) {
      client_response r = co_await exchange(m, target, o.headers, body, content_type, limit);
      if (!o.follow_redirects || !is_redirect(r.status())) co_return r;
      auto location = r.headers().get("Location");
      if (!location) co_return r;
      if (redirects >= options.max_redirects) {
        throw client_error(client_errc::too_many_redirects,
                           "too many redirects (more than " +
                               std::to_string(options.max_redirects) + ") starting at " + url);
      }
      const int status = r.status();
      if (m != method::head && (status == 303 || status == 301 || status == 302)) {
        m = method::get;
        body.reset();
        content_type.clear();
      }
      target_url next = detail::parse_target_url(detail::resolve_location(target, *location));
      if (next.origin() != target.origin()) o.headers.erase("Authorization");
      target = std::move(next);
    }
  }

  /// One request and response on a pooled connection. For an idempotent request, a pooled
  /// connection the peer had closed is dropped and the next one tried, until a new connection
  /// (a pool that sat idle may hold several stale ones; each attempt removes one). Any other
  /// request is sent on a pooled connection only after a peek found it open.
  task<client_response> exchange(method m, const target_url& target, const vial::headers& extra,
                                 const std::optional<std::string>& body,
                                 const std::string& content_type, std::size_t limit) {
    const std::string url = target.str();
    http::request<http::string_body> req;
    req.method_string(to_string(m));
    req.target(target.target);
    req.version(11);
    if (!extra.contains("Host")) req.set(http::field::host, target.authority());
    if (!extra.contains("User-Agent")) req.set(http::field::user_agent, options.user_agent);
    if (!extra.contains("Accept")) req.set(http::field::accept, "*/*");
    if (body && !extra.contains("Content-Type")) req.set(http::field::content_type, content_type);
    for (const auto& [name, value] : extra) req.insert(name, value);
    if (body) {
      req.body() = *body;
      req.content_length(body->size());
    }
    const std::string key = target.origin();
    for (;;) {
      lease slot = co_await pool.acquire(key);
      // A request that is not retried is not sent on a connection the peer has closed.
      if (slot.reused() && !idempotent(m) && peer_gone(*slot.conn)) continue;
      if (!slot.conn) slot.conn = co_await connect(target, url);
      http::response_parser<http::string_body> parser;
      parser.body_limit(limit);
      parser.header_limit(64 * 1024);
      if (m == method::head) parser.skip(true);
      connection& conn = *slot.conn;
      ++requests;
      if (slot.reused()) ++reused;
      exchange_result r =
          conn.tls ? co_await send_receive(*conn.tls, conn, req, parser, options.read_timeout)
                   : co_await send_receive(*conn.plain, conn, req, parser, options.read_timeout);
      if (r.ec) {
        if (slot.reused() && idempotent(m) && looks_stale(r)) continue;
        throw_exchange_error(r, url, options.read_timeout, limit);
      }
      auto& res = parser.get();
      vial::headers headers;
      for (const auto& field : res) headers.add(field.name_string(), field.value());
      const bool reusable = res.keep_alive() && !parser.need_eof();
      client_response out(res.result_int(), std::move(headers), std::move(res.body()), url);
      if (reusable) slot.give_back();
      co_return out;
    }
  }

  task<std::unique_ptr<connection>> connect(const target_url& target, const std::string& url) {
    tcp::resolver resolver(ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(
        target.host, std::to_string(target.port), asio::as_tuple(asio::use_awaitable));
    if (rec == asio::error::operation_aborted) throw_aborted();
    if (rec) {
      throw client_error(
          client_errc::resolve,
          "cannot resolve host '" + target.host + "' for " + url + ": " + rec.message(), rec);
    }
    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(options.connect_timeout);
    auto [cec, ep] = co_await stream->async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    (void)ep;
    if (cec == asio::error::operation_aborted) throw_aborted();
    if (cec == beast::error::timeout) {
      throw timeout_error("connecting to " + url + " timed out after " +
                          ms(options.connect_timeout));
    }
    if (cec) {
      throw client_error(client_errc::connect, "cannot connect to " + url + ": " + cec.message(),
                         cec);
    }
    boost::system::error_code ignored;
    stream->socket().set_option(tcp::no_delay(true), ignored);
    ++opened;
    auto conn = std::make_unique<connection>();
    if (!target.tls) {
      stream->expires_never();
      conn->plain = std::move(stream);
      co_return conn;
    }
    if (!tls) tls.emplace(detail::make_tls_context(options));  // the client's thread only
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *tls);
    detail::host_check check(target.host);
    if (!detail::is_ip_literal(target.host)) {
      SSL_set_tlsext_host_name(conn->tls->native_handle(), target.host.c_str());
    }
    if (options.verify_tls) conn->tls->set_verify_callback(check);
    conn->lowest().expires_after(options.connect_timeout);
    auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                                     asio::as_tuple(asio::use_awaitable));
    if (hec == asio::error::operation_aborted) throw_aborted();
    if (hec == beast::error::timeout) {
      throw timeout_error("TLS handshake with " + url + " timed out after " +
                          ms(options.connect_timeout));
    }
    if (hec) {
      std::string why = hec.message();
      if (check.name_mismatch()) {
        why = "the certificate does not match host '" + target.host + "'";
      } else if (long v = SSL_get_verify_result(conn->tls->native_handle()); v != X509_V_OK) {
        why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
      }
      throw client_error(client_errc::tls, "TLS handshake with " + url + " failed: " + why, hec);
    }
    conn->lowest().expires_never();
    co_return conn;
  }

  /// The coroutine behind every awaitable call; it takes only owned values.
  task<client_response> call(method m, std::string url, request_options o) {
    auto op = asio::async_initiate<decltype(asio::use_awaitable),
                                   void(std::exception_ptr, client_response)>(
        initiate_call{this}, asio::use_awaitable, m, std::move(url), std::move(o));
    co_return co_await std::move(op);
  }

  /// Runs a call on the client's thread and completes the awaiting coroutine on its own
  /// executor. Cancelling the awaiting coroutine resumes it at once with operation_aborted and
  /// cancels the call (whose connection is then closed).
  struct initiate_call {
    impl* client;

    template <class Handler>
    void operator()(Handler handler, method m, std::string url, request_options o) const {
      using executor_type = asio::associated_executor_t<Handler>;
      struct state {
        explicit state(Handler h)
            : handler(std::move(h)), work(asio::get_associated_executor(*handler)) {}
        // First, so destroyed last, after anything that refers to the caller's context.
        // Released by whichever thread drops the state last, possibly this client's.
        std::shared_ptr<void> keep_context = detail::retain_bridge_context();
        std::atomic<bool> done{false};
        std::optional<Handler> handler;
        asio::executor_work_guard<executor_type> work;
        std::shared_ptr<inflight_call> call;

        // Whichever finishes first (the call, or a cancellation) completes the caller, once.
        void complete(std::exception_ptr e, client_response r) {
          if (done.exchange(true)) return;
          auto h = std::move(*handler);
          handler.reset();
          // The guard travels with the completion and is released on the caller's thread after
          // it has run: the caller's context never looks idle (a bridge run would report the
          // call as leftover work and drop its context) while this thread still refers to it.
          auto ex = work.get_executor();
          asio::post(ex, [h = std::move(h), e = std::move(e), r = std::move(r),
                          w = std::move(work)]() mutable {
            asio::get_associated_cancellation_slot(h).clear();
            std::move(h)(std::move(e), std::move(r));
            w.reset();
          });
        }
      };
      auto st = std::make_shared<state>(std::move(handler));
      auto slot = asio::get_associated_cancellation_slot(*st->handler);
      // The caller is its execution context: a request's private bridge context, or, for a
      // request on the server's event loop (which every such request shares), its scope.
      const void* caller = caller_key(st->work.get_executor());
      st->call = client->start(m, std::move(url), std::move(o), caller,
                               [st](std::exception_ptr e, client_response r) {
                                 st->complete(std::move(e), std::move(r));
                               });
      if (slot.is_connected()) {
        slot.assign([st, c = client](asio::cancellation_type) {
          c->cancel(st->call);
          st->complete(
              std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)),
              {});
        });
      }
    }
  };

  client_options options;
  asio::io_context ioc{1};
  // Made when first needed: OpenSSL's TLS context and the system CA store make about 4 MiB of
  // resident memory, which a client that only speaks http need not hold.
  std::optional<asio::ssl::context> tls;
  detail::connection_pool pool;
  detail::caller_limiter limiter;
  asio::steady_timer sweep_timer;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::unordered_set<inflight_call*> inflight;  // client thread only
  bool stopping = false;                        // client thread only
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> requests{0};
  std::atomic<std::uint64_t> reused{0};  // requests sent on a pooled connection
  std::atomic<std::uint64_t> failed{0};  // calls that ended in an exception
  std::thread thread;
};

http_client::http_client(client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

http_client::~http_client() = default;

request_options::request_options(const request_options_view& view)
    : body(view.body ? std::optional<std::string>(*view.body) : std::nullopt),
      json(view.json.get() ? std::optional<nlohmann::json>(*view.json.get()) : std::nullopt),
      timeout(view.timeout),
      max_response_bytes(view.max_response_bytes),
      follow_redirects(view.follow_redirects) {
  view.headers.for_each([this](std::string_view n, std::string_view v) { headers.add(n, v); });
  view.query.for_each([this](std::string_view n, std::string_view v) {
    query.add(std::string(n), std::string(v));
  });
}

request_options::operator request_options_view() const noexcept {
  request_options_view view;
  view.headers = fields_view(headers);
  view.query = fields_view(query);
  if (body) view.body = std::string_view(*body);
  if (json) view.json = json_ref(*json);
  view.timeout = timeout;
  view.max_response_bytes = max_response_bytes;
  view.follow_redirects = follow_redirects;
  return view;
}

namespace {

// A call made while a request is handled carries its id, so the upstream's logs can be joined
// with ours. Read here, on the caller's thread, before the call moves to the client's.
request_options with_request_id(request_options o) {
  std::string_view id = detail::current_request_id();
  if (!id.empty() && !o.headers.contains("X-Request-Id")) o.headers.add("X-Request-Id", id);
  return o;
}

}  // namespace

// The public calls are plain functions: everything is copied into owned storage here, before
// the task exists, and the coroutine (impl::call) takes only owned values.
task<client_response> http_client::request(method m, std::string_view url,
                                           request_options_view options) {
  return impl_->call(m, std::string(url), with_request_id(request_options(options)));
}

task<client_response> http_client::get(std::string_view url, request_options_view options) {
  return request(method::get, url, options);
}
task<client_response> http_client::head(std::string_view url, request_options_view options) {
  return request(method::head, url, options);
}
task<client_response> http_client::post(std::string_view url, request_options_view options) {
  return request(method::post, url, options);
}
task<client_response> http_client::post_json(std::string_view url, const nlohmann::json& body,
                                             request_options_view options) {
  request_options owned(options);
  owned.json = body;
  owned.body.reset();
  return impl_->call(method::post, std::string(url), with_request_id(std::move(owned)));
}
task<client_response> http_client::put(std::string_view url, request_options_view options) {
  return request(method::put, url, options);
}
task<client_response> http_client::patch(std::string_view url, request_options_view options) {
  return request(method::patch, url, options);
}
task<client_response> http_client::delete_(std::string_view url, request_options_view options) {
  return request(method::delete_, url, options);
}

client_response http_client::fetch(method m, std::string_view url, request_options_view options) {
  if (impl_->ioc.get_executor().running_in_this_thread()) {
    throw std::logic_error(
        "http_client::fetch called on the client's own thread (from a completion?); it would "
        "deadlock");
  }
  // Not std::promise: its shared state, and the exception in it, could be freed on the client's
  // thread after this thread has read the exception (see settle). The result is moved out here.
  struct rendezvous {
    std::mutex mutex;
    std::condition_variable ready_cv;
    bool ready = false;
    std::exception_ptr error;
    client_response response;
  };
  auto meet = std::make_shared<rendezvous>();
  // The caller of a blocking call is its thread.
  static thread_local const char this_thread_caller = 0;
  impl_->start(m, std::string(url), with_request_id(request_options(options)), &this_thread_caller,
               [meet](std::exception_ptr e, client_response r) {
                 {
                   std::lock_guard lock(meet->mutex);
                   meet->error = std::move(e);
                   meet->response = std::move(r);
                   meet->ready = true;
                 }
                 meet->ready_cv.notify_one();
               });
  std::unique_lock lock(meet->mutex);
  meet->ready_cv.wait(lock, [&] { return meet->ready; });
  if (meet->error) std::rethrow_exception(std::exchange(meet->error, nullptr));
  return std::move(meet->response);
}

client_response http_client::get_sync(std::string_view url, request_options_view options) {
  return fetch(method::get, url, options);
}

const client_options& http_client::options() const noexcept { return impl_->options; }
std::size_t http_client::connections_opened() const noexcept { return impl_->opened.load(); }
std::size_t http_client::requests_sent() const noexcept { return impl_->requests.load(); }
std::size_t http_client::idle_connections() const noexcept { return impl_->pool.idle_count(); }

void http_client::write_metrics(metrics_writer& out, std::string_view name) const {
  const std::initializer_list<metric_label> client{{"client", name}};
  out.gauge("vial_http_client_connections_open",
            "Outbound connections open or opening (in use plus idle).",
            static_cast<double>(impl_->pool.in_use_count() + impl_->pool.idle_count()), client);
  out.gauge("vial_http_client_connections_idle", "Outbound connections idle in the pool.",
            static_cast<double>(impl_->pool.idle_count()), client);
  out.counter("vial_http_client_connections_opened_total", "Outbound connections opened.",
              impl_->opened.load(), client);
  out.counter("vial_http_client_requests_total",
              "Requests written to the wire, retries and redirects included.",
              impl_->requests.load(), client);
  out.counter("vial_http_client_reused_total", "Requests sent on a pooled connection.",
              impl_->reused.load(), client);
  out.counter("vial_http_client_errors_total",
              "Calls that failed (connect, TLS, timeout, closed, malformed, pool exhausted).",
              impl_->failed.load(), client);
}

}  // namespace vial
