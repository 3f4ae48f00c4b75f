// vial's other awaitables with their arguments built inline: sleep_for, to_thread, with_timeout,
// gather and gather_settled, over a vector too.
//
// A lambda that owns memory (captures a std::string or a shared_ptr by value) written inline in
// a co_await expression is destroyed twice by GCC 12, whatever the callee takes it as: so such
// lambdas are named first here. clang takes them inline (the block at the end).
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "natural.hpp"
#include <vial/async.hpp>

using namespace std::chrono_literals;

vial::task<std::string> echo(std::string s) {
  co_await vial::sleep_for(1ms);
  co_return s;
}

vial::task<int> helpers() {
  const std::string base = "a string longer than the small-string buffer";
  co_await vial::sleep_for(1ms);

  auto work = [p = std::make_shared<int>(7), s = base + "!"] {
    return *p + static_cast<int>(s.size());
  };
  auto n = co_await vial::to_thread(work);
  NATURAL_CHECK(n == 7 + static_cast<int>(base.size()) + 1);
  n = co_await vial::to_thread([&base] { return static_cast<int>(base.size()); });
  NATURAL_CHECK(n == static_cast<int>(base.size()));

  auto copy = [s = base + "?"] { return s; };
  auto s = co_await vial::with_timeout(vial::to_thread(copy), 5s);
  NATURAL_CHECK(s == base + "?");
  s = co_await vial::with_timeout(echo(base + "/t"), 5s);
  NATURAL_CHECK(s == base + "/t");

  auto [x, y] = co_await vial::gather(echo(base + "/x"), echo(base + "/y"));
  NATURAL_CHECK(x == base + "/x" && y == base + "/y");

  auto fail = [m = base + "/failed"]() -> std::string { throw std::runtime_error(m); };
  auto [ok, failed] = co_await vial::gather_settled(echo(base + "/ok"), vial::to_thread(fail));
  NATURAL_CHECK(ok.has_value() && ok.value() == base + "/ok" && !failed.has_value());

  std::vector<vial::task<std::string>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(echo(base + std::to_string(i)));
  auto all = co_await vial::gather(std::move(tasks), 2);
  NATURAL_CHECK(all.size() == 4 && all[3] == base + "3");

#if defined(__clang__)
  n = co_await vial::to_thread(
      [p = std::make_shared<int>(7), s = base + "!"] { return *p + static_cast<int>(s.size()); });
  NATURAL_CHECK(n == 7 + static_cast<int>(base.size()) + 1);
  s = co_await vial::with_timeout(vial::to_thread([s = base + "?"] { return s; }), 5s);
  NATURAL_CHECK(s == base + "?");
#endif
  co_return 0;
}

int main() { return vial::async_to_sync(helpers()); }
