#include "vial/http/error.hpp"

namespace vial {

namespace {

std::string describe(int status, std::string description) {
  if (description.empty()) return std::string(reason_phrase(status));
  return description;
}

}  // namespace

http_error::http_error(int status, std::string description, vial::headers extra)
    : std::runtime_error(describe(status, description)),
      status_(status),
      description_(describe(status, std::move(description))),
      headers_(std::move(extra)) {}

void abort(int status, std::string message) { throw http_error(status, std::move(message)); }

}  // namespace vial
