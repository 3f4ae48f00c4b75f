// expect-diagnostic: malformed_rule
// expect-diagnostic: rule_syntax::unknown_converter
// expect-diagnostic: ("/files/<file:name>")
// "file" is no converter (string, int, float, path, uuid, any).
#include <string>

#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.get("/files/<file:name>", [](std::string name) { return name; });
}
