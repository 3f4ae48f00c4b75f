#include "vial/detail/handler.hpp"

#include <string>

#include "vial/routing/error.hpp"

namespace vial::detail {

namespace {

std::string_view describe(param_kind k) {
  switch (k) {
    case param_kind::integer:
      return "an integer type";
    case param_kind::floating:
      return "a floating-point type";
    case param_kind::text:
      return "std::string or std::string_view";
    case param_kind::uuid:
      return "vial::uuid";
  }
  return "?";
}

std::string_view expected_for(converter_kind c) {
  switch (c) {
    case converter_kind::int_:
      return "an integer type";
    case converter_kind::float_:
      return "double (or another floating-point type)";
    case converter_kind::uuid:
      return "vial::uuid";
    default:
      return "std::string or std::string_view";
  }
}

}  // namespace

void check_params_fit(const rule& r, const std::vector<param_kind>& kinds) {
  const auto params = r.params();
  if (params.size() != kinds.size()) {
    throw setup_error("rule '" + r.pattern() + "' has " + std::to_string(params.size()) +
                      " parameter" + (params.size() == 1 ? "" : "s") + " but the handler takes " +
                      std::to_string(kinds.size()));
  }
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const auto& seg = *params[i];
    if (!param_fits(kinds[i], seg.conv.kind)) {
      throw setup_error("rule '" + r.pattern() + "': parameter '" + seg.text +
                        "' uses converter '" + std::string(seg.conv.name()) +
                        "', so handler parameter " + std::to_string(i + 1) + " must be " +
                        std::string(expected_for(seg.conv.kind)) + ", not " +
                        std::string(describe(kinds[i])));
    }
  }
}

void throw_param_out_of_range() {
  throw http_error(404, "The requested URL was not found on the server.");
}

}  // namespace vial::detail
