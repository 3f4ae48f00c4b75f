// expect-diagnostic: handler_parameter_does_not_fit_rule
// expect-diagnostic: handler_parameter<1>
// expect-diagnostic: converter_kind::float_
// expect-diagnostic: ("/price/<float:amount>")
// A blueprint's routes are checked as the app's: <float:...> needs a floating-point parameter.
#include <string>

#include <vial/app/blueprint.hpp>

int main() {
  vial::blueprint shop("shop");
  shop.post("/price/<float:amount>",
            [](vial::request&, int amount) { return std::to_string(amount); });
}
