#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>

#include "vial/client/options.hpp"

namespace vial::detail {

/// The client's TLS settings: verification on (system store or `ca_file`) unless disabled.
/// @throws client_error(tls) when `ca_file` cannot be loaded.
boost::asio::ssl::context make_tls_context(const client_options& options);

/// Verifies a peer certificate for `host` (a name or an IP literal) and remembers whether the
/// chain was fine but the name did not match, so the error can say so.
class host_check {
 public:
  explicit host_check(std::string host);
  bool operator()(bool preverified, boost::asio::ssl::verify_context& ctx);
  bool name_mismatch() const noexcept { return *mismatch_; }

 private:
  std::string host_;
  std::shared_ptr<bool> mismatch_ = std::make_shared<bool>(false);
};

/// True when `host` is an IPv4 or IPv6 literal (no SNI for those).
bool is_ip_literal(const std::string& host);

}  // namespace vial::detail
