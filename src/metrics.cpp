#include "vial/metrics.hpp"

#include <charconv>
#include <cmath>
#include <vector>

namespace vial {

namespace {

/// Shortest text that reads back as `v` ("0.005", "12", "+Inf").
std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

std::string format_count(std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

metrics_writer::family& metrics_writer::family_of(std::string_view name, std::string_view help,
                                                  std::string_view type) {
  auto it = families_.find(name);
  if (it != families_.end()) return it->second;
  family f{families_.size(), {}, {}};
  f.header.append("# HELP ").append(name).append(" ");
  append_escaped(f.header, help, false);
  f.header.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
  return families_.emplace(std::string(name), std::move(f)).first->second;
}

void metrics_writer::sample(std::string& out, std::string_view name,
                            std::initializer_list<metric_label> labels,
                            std::string_view extra_label, std::string_view extra_value,
                            std::string_view value) {
  out.append(name);
  if (labels.size() != 0 || !extra_label.empty()) {
    out += '{';
    bool first = true;
    auto add = [&](std::string_view label, std::string_view v) {
      if (!first) out += ',';
      first = false;
      out.append(label).append("=\"");
      append_escaped(out, v, true);
      out += '"';
    };
    for (const auto& [label, v] : labels) add(label, v);
    if (!extra_label.empty()) add(extra_label, extra_value);
    out += '}';
  }
  out.append(" ").append(value).append("\n");
}

void metrics_writer::counter(std::string_view name, std::string_view help, std::uint64_t value,
                             std::initializer_list<metric_label> labels) {
  // In format 0.0.4 the header names the sample itself ("x_total"), as Prometheus' own clients
  // write it; parsers drop the suffix for the family's name.
  sample(family_of(name, help, "counter").samples, name, labels, {}, {}, format_count(value));
}

void metrics_writer::gauge(std::string_view name, std::string_view help, double value,
                           std::initializer_list<metric_label> labels) {
  sample(family_of(name, help, "gauge").samples, name, labels, {}, {}, format_number(value));
}

void metrics_writer::histogram(std::string_view name, std::string_view help,
                               std::span<const double> bounds,
                               std::span<const std::uint64_t> counts, double sum,
                               std::initializer_list<metric_label> labels) {
  std::string& out = family_of(name, help, "histogram").samples;
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    total += i < counts.size() ? counts[i] : 0;
    sample(out, bucket, labels, "le", format_number(bounds[i]), format_count(total));
  }
  for (std::size_t i = bounds.size(); i < counts.size(); ++i) total += counts[i];
  sample(out, bucket, labels, "le", "+Inf", format_count(total));
  sample(out, std::string(name) + "_sum", labels, {}, {}, format_number(sum));
  sample(out, std::string(name) + "_count", labels, {}, {}, format_count(total));
}

std::string metrics_writer::str() const {
  std::vector<const family*> ordered(families_.size());
  for (const auto& [name, f] : families_) ordered[f.order] = &f;
  std::string out;
  for (const family* f : ordered) out.append(f->header).append(f->samples);
  return out;
}

}  // namespace vial
