#include <iostream>

#include <vial/vial.hpp>

int main() {
  vial::app app;
  app.get("/hello/<name>", [](std::string name) { return "Hello, " + name + "!"; });
  app.get("/async", []() -> vial::task<std::string> { co_return "from a coroutine"; });
  vial::test_client client(app);
  auto a = client.get("/hello/vial");
  auto b = client.get("/async");
  std::cout << a.text() << "\n" << b.text() << "\n";
  return a.text() == "Hello, vial!" && b.text() == "from a coroutine" ? 0 : 1;
}
