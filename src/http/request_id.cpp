#include "http/request_id.hpp"

#include <cstdint>
#include <random>
#include <utility>

namespace vial::detail {

namespace {

thread_local std::string_view current_id;

bool is_id_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-_.:+/=@").find(c) != std::string_view::npos;
}

// SplitMix64: consecutive counters give unrelated-looking values.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 16 lowercase hex digits of `v` at `out`.
void write_hex(char* out, std::uint64_t v) noexcept {
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = digits[v & 0xf];
}

}  // namespace

bool is_valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_request_id_bytes) return false;
  for (char c : id) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

std::string generate_request_id() {
  struct thread_state {
    std::uint64_t prefix;
    std::uint64_t counter = 0;
    thread_state() {
      std::random_device device;
      prefix = (std::uint64_t{device()} << 32) ^ device();
    }
  };
  thread_local thread_state state;
  // Written into a buffer, then one allocation: a character at a time through push_back cost
  // about as much as the rest of a /hello dispatch's string work (docs/design.md, "Metrics").
  char id[32];
  write_hex(id, state.prefix);
  write_hex(id + 16, mix(state.prefix ^ ++state.counter));
  return std::string(id, sizeof id);
}

std::string_view current_request_id() noexcept { return current_id; }

std::string_view exchange_current_request_id(std::string_view id) noexcept {
  return std::exchange(current_id, id);
}

request_id_scope::request_id_scope(std::string_view id) noexcept : previous_(current_id) {
  current_id = id;
}

request_id_scope::~request_id_scope() { current_id = previous_; }

}  // namespace vial::detail
