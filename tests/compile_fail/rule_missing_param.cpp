// expect-diagnostic: rule_has_more_parameters_than_the_handler
// expect-diagnostic: handler_parameters<1>
// expect-diagnostic: ("/users/<int:id>/posts/<slug>")
// The rule has two converters; the handler takes one parameter (the request does not count).
#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.get("/users/<int:id>/posts/<slug>", [](vial::request&, int) { return "post"; });
}
