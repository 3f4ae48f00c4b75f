// expect: a startup or shutdown hook returns void or vial::task<void>
#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.on_startup([]() -> vial::task<bool> { co_return true; });
}
