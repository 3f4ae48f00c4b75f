// server::run_until_signal, and vial::run.
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "vial/app/app.hpp"
#include "vial/server/server.hpp"

namespace vial {

int server::run_until_signal(const std::function<void(const server&)>& on_started) {
  // A handler rather than a blocked mask and sigwait: it works whatever threads the program
  // started before, since whichever thread the signal lands on only wakes this context.
  boost::asio::io_context signals_context(1);
  boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&received](const boost::system::error_code& ec, int number) {
    if (!ec) received = number;
  });
  start();
  if (on_started) {
    try {
      on_started(*this);
    } catch (...) {
      stop();
      throw;
    }
  }
  signals_context.run();
  stop();
  return received;
}

void run(app& a, const server_options& options) {
  server srv(a, options);
  if (options.handle_signals) {
    srv.run_until_signal();
  } else {
    srv.start();
    srv.wait();
  }
}

}  // namespace vial
