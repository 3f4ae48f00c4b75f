// Shared by the programs: an in-process upstream and a check that reports and exits.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <vial/app.hpp>
#include <vial/server.hpp>

#define NATURAL_CHECK(cond)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)

namespace natural {

/// A server on an ephemeral loopback port whose /echo/<path> answers, for any method, a JSON
/// description of the request: method, path, query args, X-* headers and the body.
class upstream {
 public:
  upstream() {
    app_.route("/echo/<path:rest>", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"},
               [](vial::request& req, std::string_view) {
                 nlohmann::json args = nlohmann::json::object();
                 for (const auto& [k, v] : req.args()) args[k] = v;
                 nlohmann::json x = nlohmann::json::object();
                 for (const auto& [k, v] : req.headers()) {
                   if (k.size() > 2 && (k[0] == 'X' || k[0] == 'x') && k[1] == '-') x[k] = v;
                 }
                 return nlohmann::json{{"method", req.method_name()},
                                       {"path", req.path()},
                                       {"args", args},
                                       {"x", x},
                                       {"content_type", req.header("Content-Type").value_or("")},
                                       {"body", req.body()}};
               });
    server_.emplace(app_, vial::server_options{.port = 0, .worker_threads = 4});
    server_->start();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~upstream() { server_->stop(); }

  /// "http://127.0.0.1:<port>".
  const std::string& url() const { return url_; }

 private:
  vial::app app_;
  std::optional<vial::server> server_;
  std::string url_;
};

}  // namespace natural
