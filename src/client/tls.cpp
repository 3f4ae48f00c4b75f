#include "tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include "vial/client/error.hpp"

namespace vial::detail {

namespace ssl = boost::asio::ssl;

ssl::context make_tls_context(const client_options& options) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (!options.verify_tls) {
    ctx.set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(options.ca_file, ec);
  }
  if (ec) {
    throw client_error(client_errc::tls,
                       options.ca_file.empty()
                           ? "cannot load the system CA store: " + ec.message()
                           : "cannot load CA file '" + options.ca_file + "': " + ec.message(),
                       ec);
  }
  return ctx;
}

host_check::host_check(std::string host) : host_(std::move(host)) {}

bool host_check::operator()(bool preverified, ssl::verify_context& ctx) {
  const bool ok = ssl::host_name_verification(host_)(preverified, ctx);
  if (preverified && !ok) *mismatch_ = true;
  return ok;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace vial::detail
