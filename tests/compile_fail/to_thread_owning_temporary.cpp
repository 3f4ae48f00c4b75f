// expect: with GCC 12, pass a callable that owns memory to to_thread by name
#include <string>

#include <vial/async/to_thread.hpp>

vial::task<std::size_t> handler(std::string name) {
  co_return co_await vial::to_thread([name] { return name.size(); });
}

int main() {}
