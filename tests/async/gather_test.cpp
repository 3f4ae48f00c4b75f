#include "vial/async/gather.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include "support/catch.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/timeout.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

vial::task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await vial::sleep_for(d);
  co_return v;
}

vial::task<std::string> text_after(std::string v, std::chrono::milliseconds d) {
  co_await vial::sleep_for(d);
  co_return v;
}

vial::task<int> fail_after(std::string what, std::chrono::milliseconds d) {
  co_await vial::sleep_for(d);
  throw std::runtime_error(what);
}

vial::task<void> set_after(std::atomic<bool>& flag, std::chrono::milliseconds d) {
  co_await vial::sleep_for(d);
  flag = true;
}

}  // namespace

TEST_CASE("gather returns values in argument order, not completion order", "[async][gather]") {
  auto [a, b, c] = vial::async_to_sync(
      vial::gather(value_after(1, 30ms), text_after("two", 1ms), value_after(3, 10ms)));
  CHECK(a == 1);
  CHECK(b == "two");
  CHECK(c == 3);
}

TEST_CASE("gather runs its tasks concurrently", "[async][gather]") {
  auto start = clock_type::now();
  vial::async_to_sync(
      vial::gather(value_after(1, 100ms), value_after(2, 100ms), value_after(3, 100ms)));
  CHECK(clock_type::now() - start < 250ms);
}

TEST_CASE("gather's first exception cancels the others and is rethrown", "[async][gather]") {
  std::atomic<bool> late_side_effect{false};
  auto start = clock_type::now();
  CHECK_THROWS_WITH(vial::async_to_sync(vial::gather(fail_after("first", 10ms),
                                                     set_after(late_side_effect, 150ms),
                                                     fail_after("second", 60ms))),
                    "first");
  CHECK(clock_type::now() - start < 140ms);  // did not wait for the slow task
  vial::async_to_sync(vial::sleep_for(200ms));
  CHECK_FALSE(late_side_effect);
}

TEST_CASE("gather accepts void tasks", "[async][gather]") {
  std::atomic<bool> a{false}, b{false};
  auto [x, y] = vial::async_to_sync(vial::gather(set_after(a, 1ms), set_after(b, 2ms)));
  (void)x;
  (void)y;
  CHECK(a);
  CHECK(b);
}

TEST_CASE("gather of a range returns values in order", "[async][gather]") {
  std::vector<vial::task<int>> tasks;
  for (int i = 0; i < 20; ++i) tasks.push_back(value_after(i, std::chrono::milliseconds(20 - i)));
  auto values = vial::async_to_sync(vial::gather(std::move(tasks)));
  REQUIRE(values.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(values[i] == i);
}

TEST_CASE("gather of an empty range returns nothing", "[async][gather]") {
  CHECK(vial::async_to_sync(vial::gather(std::vector<vial::task<int>>{})).empty());
}

TEST_CASE("bounded gather never runs more than its limit at once", "[async][gather]") {
  std::atomic<int> running{0}, peak{0};
  auto tracked = [&](int v) -> vial::task<int> {
    int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    co_await vial::sleep_for(5ms);
    --running;
    co_return v * 2;
  };
  std::vector<vial::task<int>> tasks;
  for (int i = 0; i < 12; ++i) tasks.push_back(tracked(i));
  auto values = vial::async_to_sync(vial::gather(std::move(tasks), 3));
  CHECK(peak == 3);
  for (int i = 0; i < 12; ++i) CHECK(values[i] == i * 2);
}

TEST_CASE("a failing task in a range cancels the rest", "[async][gather]") {
  std::atomic<bool> late{false};
  auto slow = [&]() -> vial::task<int> {
    co_await vial::sleep_for(150ms);
    late = true;
    co_return 0;
  };
  std::vector<vial::task<int>> tasks;
  tasks.push_back(slow());
  tasks.push_back(fail_after("range failure", 5ms));
  CHECK_THROWS_WITH(vial::async_to_sync(vial::gather(std::move(tasks))), "range failure");
  vial::async_to_sync(vial::sleep_for(200ms));
  CHECK_FALSE(late);
}

TEST_CASE("gather_settled returns every outcome", "[async][gather]") {
  auto [a, b] =
      vial::async_to_sync(vial::gather_settled(value_after(5, 1ms), fail_after("bad", 1ms)));
  REQUIRE(a.has_value());
  CHECK(a.value() == 5);
  CHECK_FALSE(b.has_value());
  CHECK_THROWS_WITH(b.value(), "bad");
  CHECK(b.error() != nullptr);
}

TEST_CASE("gather_settled over a range keeps order and lets every task finish", "[async][gather]") {
  std::vector<vial::task<int>> tasks;
  tasks.push_back(fail_after("x", 1ms));
  tasks.push_back(value_after(2, 20ms));
  tasks.push_back(value_after(3, 5ms));
  auto out = vial::async_to_sync(vial::gather_settled(std::move(tasks), 2));
  REQUIRE(out.size() == 3);
  CHECK_FALSE(out[0].has_value());
  CHECK(out[1].value() == 2);
  CHECK(out[2].value() == 3);
}
