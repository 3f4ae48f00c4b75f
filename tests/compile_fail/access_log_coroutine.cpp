// expect: this callback is called synchronously and returns void
#include <vial/async/task.hpp>
#include <vial/server/options.hpp>

int main() {
  vial::server_options options{
      .access_log = [](const vial::access_record&) -> vial::task<void> { co_return; }};
  (void)options;
}
