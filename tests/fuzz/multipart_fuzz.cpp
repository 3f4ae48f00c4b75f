// Fuzz target `multipart`: multipart/form-data bodies and their Content-Type.
//
// Input: the first line is the Content-Type value ("multipart/form-data; boundary=x"), the rest
// is the body.
//
// Invariants: multipart_boundary yields empty or a valid RFC 2046 boundary; parse_multipart
// throws only http_error 400 or 413 with a valid UTF-8 description and respects its limits;
// field names, values and file names are valid UTF-8; the parts, written out again with the
// same boundary, parse to the same parts; request::form() and files() agree with it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vial/http/error.hpp"
#include "vial/http/multipart.hpp"
#include "vial/http/request.hpp"
#include "vial/http/url.hpp"

namespace {

using vial::fuzz::check;

constexpr vial::multipart_limits limits{
    .max_parts = 16, .max_part_bytes = 512, .max_field_bytes = 256};

bool is_boundary_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string write_multipart(const vial::multipart_data& d, std::string_view boundary) {
  std::string out;
  auto part = [&](std::string_view disposition, std::string_view type, std::string_view content) {
    out.append("--").append(boundary).append("\r\n");
    out.append("Content-Disposition: form-data; ").append(disposition).append("\r\n");
    if (!type.empty()) out.append("Content-Type: ").append(type).append("\r\n");
    out.append("\r\n").append(content).append("\r\n");
  };
  for (const auto& [name, value] : d.fields) part("name=" + quoted(name), {}, value);
  for (const auto& f : d.files) {
    part("name=" + quoted(f.field) + "; filename=" + quoted(f.filename), f.content_type, f.content);
  }
  out.append("--").append(boundary).append("--\r\n");
  return out;
}

bool same_parts(const vial::multipart_data& a, const vial::multipart_data& b) {
  if (a.fields.size() != b.fields.size() || a.files.size() != b.files.size()) return false;
  auto it = b.fields.begin();
  for (const auto& item : a.fields) {
    if (item != *it++) return false;
  }
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    const auto& x = a.files[i];
    const auto& y = b.files[i];
    if (x.field != y.field || x.filename != y.filename || x.content_type != y.content_type ||
        x.content != y.content) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view content_type = input.substr(0, newline);
  std::string_view body = input.substr(newline + 1);

  const std::string boundary = vial::multipart_boundary(content_type);
  if (!boundary.empty()) {
    check(boundary.size() <= 70 && boundary.back() != ' ', "boundary breaks RFC 2046", boundary);
    for (char c : boundary) check(is_boundary_char(c), "boundary holds a forbidden byte", boundary);
  }

  vial::multipart_data parts;
  bool parsed = false;
  try {
    parts = vial::parse_multipart(body, boundary, limits);
    parsed = true;
  } catch (const vial::http_error& e) {
    check(e.status() == 400 || e.status() == 413, "parse_multipart failed with another status");
    check(vial::is_valid_utf8(e.description()), "parse_multipart error is not valid UTF-8",
          e.description());
  }
  if (parsed) {
    check(parts.fields.size() + parts.files.size() <= limits.max_parts,
          "more parts than the limit");
    for (const auto& [name, value] : parts.fields) {
      check(vial::is_valid_utf8(name) && vial::is_valid_utf8(value), "field is not valid UTF-8");
      check(value.size() <= limits.max_field_bytes, "field larger than the limit");
    }
    for (const auto& f : parts.files) {
      check(vial::is_valid_utf8(f.field) && vial::is_valid_utf8(f.filename),
            "file name is not valid UTF-8");
      check(f.content.size() <= limits.max_part_bytes, "file larger than the limit");
      check(!f.content_type.empty(), "file without a content type");
    }
    vial::multipart_data again;
    const std::string written = write_multipart(parts, boundary);
    try {
      again = vial::parse_multipart(written, boundary, limits);
    } catch (const vial::http_error& e) {
      vial::fuzz::fail("parts written out again do not parse", e.description());
    }
    check(same_parts(parts, again), "parts written out again parse differently");
  }

  vial::request req("POST", "/upload", {{"Content-Type", std::string(content_type)}},
                    std::string(body));
  req.set_form_limits(limits);
  try {
    const auto& fields = req.form();
    const auto& files = req.files();
    if (req.mimetype() == "multipart/form-data") {
      check(parsed, "form() accepts a body parse_multipart rejects");
      check(same_parts(parts, vial::multipart_data{fields, files}),
            "form() differs from parse_multipart");
    }
  } catch (const vial::http_error& e) {
    check(e.status() == 400 || e.status() == 413, "form() failed with another status");
  }
  return 0;
}
