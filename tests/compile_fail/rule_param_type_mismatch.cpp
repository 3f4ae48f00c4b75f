// expect-diagnostic: handler_parameter_does_not_fit_rule
// expect-diagnostic: handler_parameter<1>
// expect-diagnostic: converter_kind::int_
// expect-diagnostic: ("/users/<int:id>")
// The rule's <int:id> gives an integer; the handler's first parameter is text.
#include <string_view>

#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.get("/users/<int:id>", [](std::string_view id) { return std::string(id); });
}
