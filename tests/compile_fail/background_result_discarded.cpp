// expect: background work returns void or vial::task<void>
#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.background([] { return 42; });
}
