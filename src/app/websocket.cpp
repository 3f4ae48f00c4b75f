#include "vial/app/websocket.hpp"

#include <algorithm>

#include "../text.hpp"
#include "vial/http/error.hpp"

namespace vial {
using detail::trim_ows;

namespace {

// Calls `f` with each comma-separated element of every `name` header, trimmed.
template <class F>
void for_each_token(const request& req, std::string_view name, F f) {
  for (auto value : req.headers().get_all(name)) {
    while (!value.empty()) {
      const auto comma = value.find(',');
      auto item = trim_ows(value.substr(0, comma));
      if (!item.empty()) f(item);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
}

bool has_token(const request& req, std::string_view name, std::string_view token) {
  bool found = false;
  for_each_token(req, name, [&](std::string_view t) { found = found || iequals(t, token); });
  return found;
}

// A key is the base64 of 16 bytes: 22 characters of the alphabet and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

// The host[:port] of an origin "scheme://host[:port]", or empty when it has no such form
// (including the "null" origin of sandboxed pages and file URLs).
std::string_view origin_host(std::string_view origin) {
  const auto sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return {};
  auto host = origin.substr(sep + 3);
  if (host.empty() || host.find('/') != std::string_view::npos) return {};
  return host;
}

bool origin_allowed(const request& req, const websocket_options& options) {
  const auto origin = req.header("Origin");
  if (!origin) return true;  // not a browser: nothing to hijack (no ambient credentials)
  for (const auto& allowed : options.allowed_origins) {
    if (allowed == "*" || iequals(allowed, *origin)) return true;
  }
  const auto host = req.header("Host");
  const auto from = origin_host(*origin);
  return host && !from.empty() && iequals(from, trim_ows(*host));
}

[[noreturn]] void upgrade_required(std::string description) {
  throw http_error(426, std::move(description),
                   {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}});
}

}  // namespace

namespace detail {

websocket_upgrade* websocket_upgrade_of(const response& r) noexcept {
  if (r.status() != 101 || !r.is_stream()) return nullptr;
  return dynamic_cast<websocket_upgrade*>(r.stream().get());
}

response accept_websocket(const request& req,
                          const std::shared_ptr<const websocket_options>& options) {
  if (req.method_name() != "GET") upgrade_required("a WebSocket opens with a GET");
  if (!has_token(req, "Upgrade", "websocket") || !has_token(req, "Connection", "upgrade")) {
    upgrade_required("this URL speaks WebSocket only: send Upgrade: websocket");
  }
  if (req.version() < 11) throw http_error(400, "a WebSocket needs HTTP/1.1");
  if (req.header("Sec-WebSocket-Version").value_or("") != "13") {
    upgrade_required("unsupported Sec-WebSocket-Version (13 is supported)");
  }
  const auto key = req.header("Sec-WebSocket-Key");
  if (!key || !valid_key(trim_ows(*key))) throw http_error(400, "bad Sec-WebSocket-Key");
  if (!origin_allowed(req, *options)) throw http_error(403, "cross-origin WebSocket refused");

  auto up = std::make_shared<websocket_upgrade>();
  up->options = options;
  up->key = std::string(trim_ows(*key));
  for (const auto& mine : options->subprotocols) {
    if (!up->subprotocol.empty()) break;
    for_each_token(req, "Sec-WebSocket-Protocol", [&](std::string_view offered) {
      if (up->subprotocol.empty() && offered == mine) up->subprotocol = mine;
    });
  }
  if (options->compression) {
    for (auto v : req.headers().get_all("Sec-WebSocket-Extensions")) {
      if (!up->extensions.empty()) up->extensions.append(", ");
      up->extensions.append(v);
    }
  }
  up->label = "WS ";
  up->label.append(req.endpoint().empty() ? req.path() : req.endpoint());
  up->request = req;
  up->request.set_body({});
  response r = response::from_stream(up, "", 101);
  r.headers().erase("Content-Type");
  if (!up->subprotocol.empty()) r.set_header("Sec-WebSocket-Protocol", up->subprotocol);
  return r;
}

}  // namespace detail

// ---- hub ----------------------------------------------------------------------------------

websocket_hub::membership& websocket_hub::membership::operator=(membership&& other) noexcept {
  if (this != &other) {
    leave();
    hub_ = std::exchange(other.hub_, nullptr);
    room_ = std::move(other.room_);
    ws_ = std::exchange(other.ws_, nullptr);
  }
  return *this;
}

void websocket_hub::membership::leave() noexcept {
  if (hub_) hub_->remove(room_, ws_);
  hub_ = nullptr;
}

websocket_hub::membership websocket_hub::join(std::string_view room, websocket& ws) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) it = rooms_.emplace(std::string(room), decltype(it->second){}).first;
  it->second[&ws] = ws.weak_from_this();
  return membership(this, std::string(room), &ws);
}

void websocket_hub::remove(const std::string& room, const websocket* ws) noexcept {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  it->second.erase(ws);
  if (it->second.empty()) rooms_.erase(it);
}

std::vector<std::shared_ptr<websocket>> websocket_hub::members(std::string_view room) const {
  std::vector<std::shared_ptr<websocket>> out;
  std::lock_guard lock(mutex_);
  auto add_room = [&](const auto& members) {
    for (const auto& [key, weak] : members) {
      if (auto ws = weak.lock()) out.push_back(std::move(ws));
    }
  };
  if (room.data() == nullptr) {
    for (const auto& [name, members] : rooms_) add_room(members);
  } else if (auto it = rooms_.find(room); it != rooms_.end()) {
    add_room(it->second);
  }
  return out;
}

std::size_t websocket_hub::broadcast(std::string_view room, std::string_view text, bool binary) {
  // Posted outside the lock: a post may close a slow socket, whose handler then leaves.
  auto targets = members(room.data() ? room : std::string_view("", 0));
  for (auto& ws : targets) ws->post(std::string(text), binary);
  return targets.size();
}

std::size_t websocket_hub::broadcast_all(std::string_view text, bool binary) {
  auto targets = members(std::string_view());
  for (auto& ws : targets) ws->post(std::string(text), binary);
  return targets.size();
}

std::size_t websocket_hub::size(std::string_view room) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.size();
}

}  // namespace vial
