// expect: to_thread runs blocking code, and this callable is a coroutine
#include <vial/async/to_thread.hpp>

vial::task<void> handler() {
  auto op = vial::to_thread([]() -> vial::task<void> { co_return; });
  co_await std::move(op);
}

int main() {}
