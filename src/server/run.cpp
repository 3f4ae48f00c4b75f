// app::run is declared by the app module and defined here, where the server lives.
#include <csignal>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "vial/app/app.hpp"
#include "vial/server/server.hpp"

namespace vial {

void app::run(const server_options& options) {
  // The signal set exists before the server's threads, so no SIGINT/SIGTERM is missed or
  // delivered with its default action while starting.
  boost::asio::io_context signals_context(1);
  std::optional<boost::asio::signal_set> signals;
  if (options.handle_signals) signals.emplace(signals_context, SIGINT, SIGTERM);
  server srv(*this, options);
  srv.start();
  if (signals) {
    signals->async_wait([](const boost::system::error_code&, int) {});
    signals_context.run();
    srv.stop();
  } else {
    srv.wait();
  }
}

}  // namespace vial
