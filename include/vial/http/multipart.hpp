#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vial/http/headers.hpp"
#include "vial/http/multi_dict.hpp"

namespace vial {

/// One file part of a multipart/form-data body.
struct uploaded_file {
  std::string field{};         ///< the form field name
  std::string filename{};      ///< as sent by the client: never use it as a path unchecked
  std::string content_type{};  ///< the part's Content-Type, "application/octet-stream" if absent
  std::string content{};
};

/// Bounds on a multipart body; exceeding one is a 413.
struct multipart_limits {
  std::size_t max_parts = 1000;
  std::size_t max_part_bytes = 16 * 1024 * 1024;
  std::size_t max_field_bytes = 1024 * 1024;  ///< non-file fields
};

/// The fields and files of a multipart/form-data body.
struct multipart_data {
  multi_dict fields{};
  std::vector<uploaded_file> files{};
};

/// Extracts the boundary parameter of a multipart Content-Type; empty when absent or invalid.
std::string multipart_boundary(std::string_view content_type);

/// Parses a multipart/form-data body. Throws `http_error` 400 on malformed data (missing
/// boundary, unterminated part, bad part headers, invalid UTF-8 in a field) and 413 when a
/// limit is exceeded.
multipart_data parse_multipart(std::string_view body, std::string_view boundary,
                               const multipart_limits& limits = {});

}  // namespace vial
