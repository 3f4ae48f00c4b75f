#include "vial/detail/scope.hpp"

#include <algorithm>

namespace vial::detail {

bool scope::has_async() const noexcept {
  auto async = [](const auto& s) { return s.is_async(); };
  return std::any_of(before.begin(), before.end(), async) ||
         std::any_of(after.begin(), after.end(), async) ||
         std::any_of(teardown.begin(), teardown.end(), async) ||
         std::any_of(by_status.begin(), by_status.end(),
                     [](const auto& kv) { return kv.second.is_async(); }) ||
         std::any_of(by_type.begin(), by_type.end(),
                     [](const auto& h) { return h.handler.is_async(); });
}

void scope::add_type_handler(type_error_handler h) {
  for (auto it = by_type.begin(); it != by_type.end(); ++it) {
    if (*it->type == *h.type) {
      *it = std::move(h);  // re-registering a type replaces its handler, as in Flask
      return;
    }
  }
  // `h` goes before the first registered type it derives from: a thrown `E*` converts to a
  // base pointer exactly when E derives from that base.
  auto pos = std::find_if(by_type.begin(), by_type.end(), [&](const type_error_handler& other) {
    return other.catches_pointer(h.throw_pointer);
  });
  by_type.insert(pos, std::move(h));
}

}  // namespace vial::detail
