#include "http/request_id.hpp"

#include <cstdint>
#include <cstring>
#include <random>
#include <utility>

#include "text.hpp"

namespace vial::detail {

namespace {

thread_local std::string_view current_id;

constexpr byte_set id_chars{[](unsigned char c) {
  return is_alnum_byte(c) ||
         std::string_view("-_.:+/=@").find(static_cast<char>(c)) != std::string_view::npos;
}};

// SplitMix64: consecutive counters give unrelated-looking values.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 16 lowercase hex digits of `v` at `out`, two a byte.
void write_hex(char* out, std::uint64_t v) noexcept {
  static constexpr char pairs[] =
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
      "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
      "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
      "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
  for (int i = 14; i >= 0; i -= 2, v >>= 8) std::memcpy(out + i, pairs + 2 * (v & 0xff), 2);
}

}  // namespace

bool is_valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_request_id_bytes) return false;
  return id_chars.holds_all(id);
}

std::string generate_request_id() {
  struct thread_state {
    std::uint64_t prefix;
    std::uint64_t counter = 0;
    char id[32];  // the prefix's digits written once; the counter's per id
    thread_state() {
      std::random_device device;
      prefix = (std::uint64_t{device()} << 32) ^ device();
      write_hex(id, prefix);
    }
  };
  thread_local thread_state state;
  // Written into a buffer, then one allocation: a character at a time through push_back cost
  // about as much as the rest of a /hello dispatch's string work (docs/design.md, "Metrics").
  char* id = state.id;
  write_hex(id + 16, mix(state.prefix ^ ++state.counter));
  return std::string(id, sizeof state.id);
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
