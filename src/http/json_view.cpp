#include "vial/http/json_view.hpp"

#include "vial/http/error.hpp"

namespace vial {

namespace detail {

namespace {

// How a field is named in a message: the body itself has no path.
std::string subject(const std::string& path) {
  return path.empty() ? std::string("JSON body") : "field '" + path + "'";
}

}  // namespace

void json_missing(const std::string& path) {
  throw http_error(400, "missing field '" + path + "'");
}

void json_wrong_type(const std::string& path, std::string_view expected) {
  throw http_error(400, subject(path) + " must be " + std::string(expected));
}

void json_unreadable(const std::string& path, const nlohmann::json::exception& e) {
  // what() is "[json.exception.type_error.302] type must be number, but is string": the
  // bracketed id means nothing to a client.
  std::string_view what = e.what();
  if (auto close = what.find("] "); what.starts_with("[json.exception") && close != what.npos) {
    what.remove_prefix(close + 2);
  }
  throw http_error(400, subject(path) + " has the wrong shape: " + std::string(what));
}

}  // namespace detail

std::string json_view::child_path(std::string_view key) const {
  std::string out = path_;
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string json_view::child_path(std::size_t index) const {
  return path_ + "[" + std::to_string(index) + "]";
}

json_view json_view::operator[](std::string_view key) const {
  if (!value_->is_object()) detail::json_wrong_type(path_, "an object");
  auto it = value_->find(key);
  if (it == value_->end()) detail::json_missing(child_path(key));
  return json_view(*it, child_path(key));
}

json_view json_view::operator[](std::size_t index) const {
  if (!value_->is_array()) detail::json_wrong_type(path_, "an array");
  if (index >= value_->size()) detail::json_missing(child_path(index));
  return json_view((*value_)[index], child_path(index));
}

json_view json_view::operator[](int index) const {
  if (index < 0) {
    if (!value_->is_array()) detail::json_wrong_type(path_, "an array");
    throw http_error(400, "missing field '" + path_ + "[" + std::to_string(index) + "]'");
  }
  return (*this)[static_cast<std::size_t>(index)];
}

bool json_view::contains(std::string_view key) const {
  return value_->is_object() && value_->find(key) != value_->end();
}

json_view::iterator json_view::find(std::string_view key) const {
  if (!value_->is_object()) return end();
  return iterator(*this, value_->find(key));
}

json_view json_view::iterator::value() const {
  std::string path = parent_path_;
  if (parent_->is_object()) {
    if (!path.empty()) path += '.';
    path += it_.key();
  } else if (parent_->is_array()) {
    path += "[" + std::to_string(index_) + "]";
  }
  return json_view(*it_, std::move(path));
}

}  // namespace vial
