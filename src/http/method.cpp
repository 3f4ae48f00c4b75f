#include "vial/http/method.hpp"

namespace vial {

std::string_view to_string(method m) noexcept {
  switch (m) {
    case method::get:
      return "GET";
    case method::head:
      return "HEAD";
    case method::post:
      return "POST";
    case method::put:
      return "PUT";
    case method::delete_:
      return "DELETE";
    case method::options:
      return "OPTIONS";
    case method::patch:
      return "PATCH";
    case method::connect:
      return "CONNECT";
    case method::trace:
      return "TRACE";
    case method::other:
      break;
  }
  return "OTHER";
}

method parse_method(std::string_view token) noexcept {
  // Method tokens are case-sensitive (RFC 9110 9.1): "get" is not GET.
  if (token == "GET") return method::get;
  if (token == "HEAD") return method::head;
  if (token == "POST") return method::post;
  if (token == "PUT") return method::put;
  if (token == "DELETE") return method::delete_;
  if (token == "OPTIONS") return method::options;
  if (token == "PATCH") return method::patch;
  if (token == "CONNECT") return method::connect;
  if (token == "TRACE") return method::trace;
  return method::other;
}

}  // namespace vial
