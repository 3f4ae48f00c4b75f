// expect: a before_request hook is called as f(vial::request&) or f()
#include <vial/app/app.hpp>

int main() {
  vial::app app;
  app.before_request([](int user_id) { (void)user_id; });
}
