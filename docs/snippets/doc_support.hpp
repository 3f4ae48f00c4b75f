// What the code generated from the docs' ```cpp blocks (extract_snippets.py) needs around it:
// Catch2, and a way to run a program that would serve until a signal.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <type_traits>

#include "support/catch.hpp"
#include <vial/vial.hpp>

namespace vial_doc {

/// Sends one GET / to 127.0.0.1:`port` and returns the status line (empty when none came).
inline std::string probe(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{.tv_sec = 30, .tv_usec = 0};  // a generous bound, never a readiness wait
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string received;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n = 0;
      while (received.find("\r\n") == std::string::npos &&
             (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
        received.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return received.substr(0, received.find("\r\n"));
}

/// Stands in for `vial::run(app, options)` in a doc's program: serves on an ephemeral loopback
/// port, checks that one request is answered, then stops gracefully (the path SIGTERM takes).
inline void run_and_stop(vial::app& app, vial::server_options options = {}) {
  options.host = "127.0.0.1";
  options.port = 0;
  vial::server server(app, options);
  server.start();
  const std::string status = probe(server.port());
  server.stop();
  INFO("status line: " << status);
  CHECK(status.rfind("HTTP/1.1 ", 0) == 0);
}

/// Calls a doc program's `main` (renamed, and returning void when it had no `return`).
template <class Main>
int call_main(Main* main) {
  char name[] = "doc-snippet";
  char* argv[] = {name, nullptr};
  if constexpr (std::is_invocable_v<Main*>) {
    if constexpr (std::is_void_v<std::invoke_result_t<Main*>>) {
      main();
      return 0;
    } else {
      return main();
    }
  } else if constexpr (std::is_void_v<std::invoke_result_t<Main*, int, char**>>) {
    main(1, argv);
    return 0;
  } else {
    return main(1, argv);
  }
}

}  // namespace vial_doc
