#include "upstream.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

namespace vial::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct upstream::impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<asio::ssl::context> tls;
  std::thread thread;
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::size_t accepted = 0;
  std::size_t disconnected = 0;

  void count_disconnect() {
    std::lock_guard lock(mutex);
    ++disconnected;
    cv.notify_all();
  }

  template <class Stream>
  static tcp::socket& socket_of(Stream& s) {
    return beast::get_lowest_layer(s).socket();
  }

  template <class Stream>
  asio::awaitable<void> raw(Stream& s, std::string_view bytes) {
    co_await asio::async_write(s, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  }

  template <class Stream>
  asio::awaitable<void> session(Stream& s) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(s, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      http::response<http::string_body> res{http::status::ok, 11};
      res.keep_alive(req.keep_alive());
      res.set(http::field::content_type, "text/plain");
      bool close_after = false;
      std::optional<std::chrono::milliseconds> idle_close;
      if (path == "/hello") {
        res.set("X-Upstream", "yes");
        res.body() = "hello";
      } else if (path == "/json") {
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"name":"vial","n":3})";
      } else if (path == "/not-json") {
        res.body() = "{oops";
      } else if (path == "/echo") {
        res.set(http::field::content_type, "application/json");
        nlohmann::json j;
        j["method"] = std::string(req.method_string());
        j["target"] = target;
        j["body"] = req.body();
        j["content_type"] = std::string(req[http::field::content_type]);
        j["user_agent"] = std::string(req[http::field::user_agent]);
        j["host"] = std::string(req[http::field::host]);
        j["x_token"] = std::string(req["X-Token"]);
        j["x_request_id"] = std::string(req["X-Request-Id"]);
        res.body() = j.dump();
      } else if (path.starts_with("/delay/")) {
        asio::steady_timer t(ioc, std::chrono::milliseconds(std::stoi(path.substr(7))));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        res.body() = "slept";
      } else if (path == "/chunked") {
        co_await raw(s,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        continue;
      } else if (path == "/big") {
        res.body() = std::string(100000, 'x');
      } else if (path.starts_with("/redirect/")) {
        int left = std::stoi(path.substr(10));
        if (left > 0) {
          res.result(http::status::found);
          res.set(http::field::location, "/redirect/" + std::to_string(left - 1));
        } else {
          res.body() = "landed";
        }
      } else if (path == "/see-other") {
        res.result(http::status::see_other);
        res.set(http::field::location, "/echo");
      } else if (path == "/temporary") {
        res.result(http::status::temporary_redirect);
        res.set(http::field::location, "echo");
      } else if (path == "/loop") {
        res.result(http::status::found);
        res.set(http::field::location, "/loop");
      } else if (path == "/hang") {
        // Never answer; the read ends when the client closes the connection.
        char byte;
        co_await socket_of(s).async_read_some(asio::buffer(&byte, 1),
                                              asio::as_tuple(asio::use_awaitable));
        co_return;
      } else if (path == "/garbage") {
        co_await raw(s, "SPDY/9 banana\r\n\r\n");
        co_return;
      } else if (path == "/not-http") {
        co_await raw(s, "hello, this is not HTTP at all\n");
        co_return;
      } else if (path == "/half-head") {
        co_await raw(s, "HTTP/1.1 200 OK\r\nContent-Le");
        co_return;
      } else if (path == "/bad-chunk") {
        co_await raw(s,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "zz\r\nhello\r\n0\r\n\r\n");
        co_return;
      } else if (path == "/cut-chunk") {
        co_await raw(s,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "a\r\nhel");
        co_return;
      } else if (path == "/huge-header") {
        std::string head = "HTTP/1.1 200 OK\r\nX-Huge: " + std::string(200 * 1024, 'h') +
                           "\r\nContent-Length: 2\r\n\r\nok";
        co_await raw(s, head);
        co_return;
      } else if (path == "/cut") {
        co_await raw(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        co_return;
      } else if (path == "/silent-close") {
        co_return;
      } else if (path == "/drop") {
        res.body() = "dropped";
        close_after = true;  // keep-alive advertised, then closed: a stale pooled connection
      } else if (path.starts_with("/idle-close/")) {
        // Keep-alive advertised, then closed after that many ms idle (an upstream's idle
        // timeout shorter than the client's).
        idle_close = std::chrono::milliseconds(std::stoi(path.substr(12)));
        res.body() = "closing when idle";
      } else {
        res.result(http::status::not_found);
        res.body() = "no such path";
      }
      res.prepare_payload();
      http::response_serializer<http::string_body> sr(res);
      boost::system::error_code wec;
      if (req.method() == http::verb::head) {
        std::tie(wec, n) =
            co_await http::async_write_header(s, sr, asio::as_tuple(asio::use_awaitable));
      } else {
        std::tie(wec, n) = co_await http::async_write(s, sr, asio::as_tuple(asio::use_awaitable));
      }
      if (wec || close_after || !res.keep_alive()) co_return;
      if (idle_close) {
        asio::steady_timer t(ioc, *idle_close);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
      }
    }
  }

  asio::awaitable<void> serve(tcp::socket sock) {
    {
      std::lock_guard lock(mutex);
      ++accepted;
    }
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> s(std::move(sock), *tls);
      auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::server,
                                             asio::as_tuple(asio::use_awaitable));
      if (!ec) co_await session(s);
      boost::system::error_code ignored;
      beast::get_lowest_layer(s).socket().close(ignored);
    } else {
      beast::tcp_stream s(std::move(sock));
      co_await session(s);
      boost::system::error_code ignored;
      s.socket().shutdown(tcp::socket::shutdown_both, ignored);
      s.socket().close(ignored);
    }
    count_disconnect();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc, serve(std::move(sock)), asio::detached);
    }
  }
};

upstream::upstream() : impl_(std::make_unique<impl>()) { start(); }

upstream::upstream(const std::string& cert_file, const std::string& key_file)
    : impl_(std::make_unique<impl>()), tls_(true) {
  impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  impl_->tls->use_certificate_chain_file(cert_file);
  impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
  start();
}

void upstream::start() {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

upstream::~upstream() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::string upstream::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::size_t upstream::accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

std::size_t upstream::disconnected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->disconnected;
}

bool upstream::wait_for_disconnects(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->disconnected >= n; });
}

namespace {

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("command failed: " + command);
  }
}

}  // namespace

test_certificates::test_certificates() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "vial-client-tls-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir = tmpl;
  ca = dir + "/ca.pem";
  leaf_cert = dir + "/leaf.pem";
  leaf_key = dir + "/leaf.key";
  other_host_cert = dir + "/other.pem";
  other_host_key = dir + "/other.key";
  wrong_ca = dir + "/wrong-ca.pem";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string d = "'" + dir + "'";
  run("openssl req -x509" + ec + " -keyout " + d + "/ca.key -out " + d +
      "/ca.pem -days 2 -subj '/CN=vial test CA'");
  run("openssl req -x509" + ec + " -keyout " + d + "/wrong-ca.key -out " + d +
      "/wrong-ca.pem -days 2 -subj '/CN=vial wrong CA'");
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san) {
    std::ofstream(dir + "/" + name + ".ext")
        << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n";
    run("openssl req" + ec + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name +
        ".csr -subj '/CN=" + cn + "'");
    run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " + d +
        "/ca.key -CAcreateserial -days 2 -out " + d + "/" + name + ".pem -extfile " + d + "/" +
        name + ".ext");
  };
  leaf("leaf", "localhost", "IP:127.0.0.1,DNS:localhost");
  leaf("other", "other.example", "DNS:other.example");
}

test_certificates::~test_certificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace vial::test
