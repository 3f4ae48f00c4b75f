// expect-diagnostic: handler_parameter_not_in_rule
// expect-diagnostic: handler_parameter<2>
// expect-diagnostic: ("/users/<int:id>")
// The handler's second parameter has no converter in the rule to bind it.
#include <string>

#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.get("/users/<int:id>", [](int, std::string) { return "user"; });
}
