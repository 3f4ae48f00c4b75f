#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

namespace vial {

/// How `send_file` answers.
struct send_file_options {
  /// Content-Type; guessed from the file name's extension when empty.
  std::string content_type{};
  /// Cache-Control: "public, max-age=N" when set, else "no-cache" (revalidate with the ETag).
  std::optional<std::chrono::seconds> max_age{};
  /// Content-Disposition: attachment, with `download_name` (default: the file's name).
  bool as_attachment = false;
  std::string download_name{};
  /// Bodies up to this size are read whole; larger ones are streamed in `chunk_size` pieces.
  std::size_t stream_threshold = 256 * 1024;
  std::size_t chunk_size = 64 * 1024;
};

/// The Content-Type for a file name from its extension ("a.css" → "text/css; charset=utf-8");
/// "application/octet-stream" when unknown.
std::string_view guess_content_type(std::string_view filename);

/// Answers `req` with the file at `path` (Flask's send_file): Content-Type, Content-Length,
/// Accept-Ranges, a strong ETag (size and modification time) and Last-Modified.
/// - If-None-Match (or, without it, If-Modified-Since) matching the file answers 304.
/// - A single `Range: bytes=...` answers 206 with Content-Range, or 416 when it starts past the
///   end; If-Range with another ETag or date serves the whole file. Several ranges, or a
///   malformed one, are ignored (the whole file, as RFC 9110 allows).
/// - Large bodies are streamed from the file, never loaded whole.
/// The path is trusted: use `send_from_directory` for names that come from the client.
/// @throws http_error 404 when `path` is not a readable regular file.
response send_file(const request& req, const std::filesystem::path& path,
                   const send_file_options& options = {});

/// Sends `subpath` (from the URL) out of `directory`, refusing anything outside it: ".."
/// segments, absolute paths, backslashes and NUL bytes are refused, and the resolved path
/// (symlinks followed) must stay under the resolved directory. Every refusal is a 404, as for
/// a missing file, so the answer does not reveal what exists outside.
/// @throws http_error 404 as described.
response send_from_directory(const request& req, const std::filesystem::path& directory,
                             std::string_view subpath, const send_file_options& options = {});

}  // namespace vial
