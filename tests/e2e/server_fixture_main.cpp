// A server for end-to-end tests: the test routes on a loopback port (ephemeral unless --port).
// Prints the port on the first line of stdout, then serves until SIGTERM/SIGINT (graceful stop,
// exit 0).
// Options: --workers N, --header-timeout-ms N, --write-timeout-ms N, --keep-alive-timeout-ms N,
// --max-body N, --max-connections N, --static DIR (serves DIR under /static), --port N,
// --reuse-port 1 (SO_REUSEPORT), --proxy 1 (behind one proxy: trust one hop of X-Forwarded-For
// and -Proto and the X-Request-Id it sets; add /livez, /readyz and /whoami, which echoes the
// client's address, scheme and request id as the app sees them, and the process id).
// Under systemd socket activation (LISTEN_FDS), serves the inherited socket instead of binding.

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include <boost/system/error_code.hpp>

#include "server/test_app.hpp"
#include "vial/app.hpp"
#include "vial/http/json.hpp"
#include "vial/server.hpp"

int main(int argc, char** argv) {
  // For the emfile test under UndefinedBehaviorSanitizer: its vptr check tests a vtable for
  // readability by writing it to a pipe, which cannot be created once the test has used up
  // every descriptor, and then reports the EMFILE error's category as an invalid object. One
  // checked call here, while descriptors are free, puts the category in the check's cache.
  (void)boost::system::error_code(EMFILE, boost::system::system_category()).message();
  vial::server_options options{.port = 0, .listen_fd = vial::systemd_listen_fd()};
  std::string static_dir;
  bool behind_proxy = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    auto value = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--static") static_dir = argv[i + 1];
    if (flag == "--workers") options.worker_threads = value;
    if (flag == "--header-timeout-ms") options.header_timeout = std::chrono::milliseconds(value);
    if (flag == "--max-body") options.max_body_bytes = value;
    if (flag == "--max-connections") options.max_connections = value;
    if (flag == "--write-timeout-ms") options.write_timeout = std::chrono::milliseconds(value);
    if (flag == "--keep-alive-timeout-ms") {
      options.keep_alive_timeout = std::chrono::milliseconds(value);
    }
    if (flag == "--port") options.port = static_cast<std::uint16_t>(value);
    if (flag == "--reuse-port") options.reuse_port = value != 0;
    if (flag == "--proxy") behind_proxy = value != 0;
  }
  vial::app_options app_options;
  if (behind_proxy) app_options.proxy = {.x_for = 1, .x_proto = 1, .x_request_id = true};
  vial::app app(std::move(app_options));
  vial::test::test_state state;
  vial::test::add_test_routes(app, state);
  if (behind_proxy) {
    vial::add_health_routes(app);
    app.get("/whoami", [](const vial::request& req) {
      return nlohmann::json{{"remote_address", req.remote_address()},
                            {"scheme", req.scheme()},
                            {"id", req.id()},
                            {"pid", ::getpid()}};
    });
  }
  if (!static_dir.empty()) app.static_folder("/static", static_dir);
  // Multipart over the wire: fields, and each file's name, type and size.
  app.post("/form",
           [](vial::request& req) {
             nlohmann::json files = nlohmann::json::array();
             for (const auto& f : req.files()) {
               files.push_back({{"field", f.field},
                                {"filename", f.filename},
                                {"content_type", f.content_type},
                                {"size", f.content.size()}});
             }
             nlohmann::json fields = nlohmann::json::object();
             for (const auto& [k, v] : req.form()) fields[k] = v;
             return nlohmann::json{{"fields", fields}, {"files", files}};
           },
           {.max_body_bytes = 4 * 1024 * 1024});

  vial::server srv(app, options);
  srv.run_until_signal([](const vial::server& s) { std::cout << s.port() << std::endl; });
  return 0;
}
