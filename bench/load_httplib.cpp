// cpp-httplib's hello for bench/load.sh (Debian libcpp-httplib-dev 0.11.4).
// Its defaults are kept unless --tuned is given: TCP_NODELAY off, a pool of
// max(8, cores - 1) threads with one thread per connection, and keep-alive closed after 5
// requests (CPPHTTPLIB_KEEPALIVE_MAX_COUNT). --tuned turns TCP_NODELAY on, sizes the pool to
// --threads N (one per client connection) and lifts the keep-alive request cap.
// Prints the bound port on stdout and serves until killed.

#include <httplib.h>  // Debian builds it as a library: its compile-time defaults are fixed
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
  std::size_t threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]) == "--threads") threads = std::strtoul(argv[i + 1], nullptr, 10);
  }
  httplib::Server server;
#ifdef VIAL_HTTPLIB_TUNED
  if (threads > 0) server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1000000);
  server.set_keep_alive_timeout(60);
  // Accepted sockets inherit TCP_NODELAY from the listening socket on Linux.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
#else
  (void)threads;
#endif
  server.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Hello, World!", "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::cout << port << std::endl;
  server.listen_after_bind();
  return 0;
}
