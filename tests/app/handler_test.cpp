#include "vial/detail/handler.hpp"

#include <string>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/testing/test_client.hpp"

namespace {

vial::task<vial::response> answer(std::string text) { co_return vial::response::text(text); }

// Counts calls of the user's callable, which makes the coroutine (a task starts suspended).
struct counted_handler {
  int* calls;
  vial::task<vial::response> operator()(vial::request&) const {
    ++*calls;
    return answer("counted");
  }
};

struct counted_string_handler {
  int* calls;
  vial::task<std::string> operator()(vial::request&) const {
    ++*calls;
    return [](std::string s) -> vial::task<std::string> { co_return s; }("counted");
  }
};

}  // namespace

TEST_CASE("a handler's task<response> is what the route returns, with no coroutine around it",
          "[app][handler]") {
  // A held event-loop request would otherwise keep a converting frame (about 400 bytes) for
  // its whole life: the user's callable is called by the erased handler itself.
  int calls = 0;
  auto h = vial::detail::make_route_handler(counted_handler{&calls});
  vial::request req("GET", "/");
  auto task = h.async(req);
  CHECK(calls == 1);

  // Any other value is converted by a coroutine that calls the callable when it starts.
  int string_calls = 0;
  auto converted = vial::detail::make_route_handler(counted_string_handler{&string_calls});
  auto wrapped = converted.async(req);
  CHECK(string_calls == 0);
}

TEST_CASE("a task<response> handler binds its parameters and answers in both coroutine modes",
          "[app][handler]") {
  for (auto mode : {vial::coroutine_mode::bridge, vial::coroutine_mode::event_loop}) {
    vial::app app;
    app.get("/n/<int:n>",
            [](short n) -> vial::task<vial::response> {
              co_return vial::response::text(std::to_string(n));
            },
            {.coroutines = mode});
    app.get("/s/<name>",
            [](const vial::request&, std::string name) { return answer("hi " + name); },
            {.coroutines = mode});
    vial::test_client client(app);
    CHECK(client.get("/n/12").text() == "12");
    CHECK(client.get("/n/99999").status() == 404);  // out of range for short: no resource
    CHECK(client.get("/s/ann").text() == "hi ann");
  }
}
