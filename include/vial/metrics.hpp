#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace vial {

/// One label of a sample: `{"route", "/users/<int:id>"}`.
using metric_label = std::pair<std::string_view, std::string_view>;

/// Builds a scrape in the Prometheus text exposition format (version 0.0.4). Samples of one
/// family may be added in any order and from several sources (the app, each server, each HTTP
/// client): the writer groups them under a single `# HELP`/`# TYPE` header, which the format
/// requires. Label values are escaped (backslash, double quote, newline); names are the
/// caller's and must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
/// Distinct objects: safe. Shared objects: unsafe.
class metrics_writer {
 public:
  /// A monotonic count. `name` is the sample's name, conventionally ending in `_total`.
  void counter(std::string_view name, std::string_view help, std::uint64_t value,
               std::initializer_list<metric_label> labels = {});
  /// A value that goes up and down (in flight, queued, open).
  void gauge(std::string_view name, std::string_view help, double value,
             std::initializer_list<metric_label> labels = {});
  /// A histogram: `counts` has one entry per upper bound in `bounds` (ascending, in the unit
  /// of `sum`) plus one for the values above the last, each counting only its own bucket; the
  /// writer emits the cumulative `_bucket` series with `le="+Inf"`, then `_sum` and `_count`.
  void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum,
                 std::initializer_list<metric_label> labels = {});

  /// The exposition: every family, in the order first added, each ending in a newline.
  std::string str() const;
  /// The Content-Type of `str()`.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct family {
    std::size_t order;
    std::string header;   // "# HELP ...\n# TYPE ...\n"
    std::string samples;  // one line each
  };
  family& family_of(std::string_view name, std::string_view help, std::string_view type);
  static void sample(std::string& out, std::string_view name,
                     std::initializer_list<metric_label> labels, std::string_view extra_label,
                     std::string_view extra_value, std::string_view value);

  std::map<std::string, family, std::less<>> families_;
};

}  // namespace vial
