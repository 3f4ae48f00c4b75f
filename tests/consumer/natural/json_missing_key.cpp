// Natural code: a Flask developer reads a JSON field the Flask way. A body without it must be a
// 400 that names the field, never a crash or undefined behaviour.

#include <cstdio>
#include <string>

#include <vial/testing.hpp>
#include <vial/vial.hpp>

int main() {
  vial::app app;
  app.post("/todos", [](vial::request& req) {
    std::string t = req.json()["title"];
    return nlohmann::json{{"title", t}};
  });

  vial::test_client client(app);
  auto r = client.post("/todos", {.json = nlohmann::json{{"body", "no title here"}}});
  const bool ok = r.status() == 400 && r.text().find("'title'") != std::string::npos;
  if (!ok) std::printf("expected a 400 naming 'title', got %d: %s\n", r.status(), r.text().c_str());
  return ok ? 0 : 1;
}
