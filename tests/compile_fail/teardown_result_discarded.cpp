// expect: a teardown_request hook returns void or vial::task<void>
#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.teardown_request([](vial::request&) { return true; });
}
