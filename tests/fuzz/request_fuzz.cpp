// Fuzz target `request`: the bytes of one connection, parsed the way the server parses them
// (request_reader: Beast's parser, the server's limits and checks), then every request it
// accepts is answered by `app.dispatch` on an app with a realistic route table: each converter,
// JSON and form routes, a coroutine route, hooks (sync and coroutine), error handlers, a
// blueprint, a class-based view, sessions, CORS and a static folder.
//
// The input is sent twice: once in reads of up to 8 KiB, as the server reads, with dispatch;
// once in small reads of varying size. Both must cut the stream into the same messages. (Only
// the rejection may differ: Beast checks the first bytes it gets at once but later ones only
// when the header is complete, so garbage is refused at once or once the header limit or
// timeout hits, depending on how it arrived. Either way nothing after it is read.)
//
// Invariants, beyond "no crash, no sanitizer report":
// - dispatch never throws, answers a status in 100..599, and a 500 only for the one route that
//   fails on purpose; nothing is logged at error level otherwise;
// - the response head serializes with valid header fields; a JSON response body parses;
// - redirects stay on the site, CORS allows only the configured origin, a session cookie
//   written decodes with the key;
// - a request reaching the app respects the server's checks: one Host in HTTP/1.1, never both
//   Transfer-Encoding and Content-Length, a body within the route's limit;
// - the static folder never serves anything from outside it.
//
// With VIAL_FUZZ_VERBOSE set in the environment, each exchange is printed to stderr.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz_check.hpp"
#include "server/request_reader.hpp"
#include "server/wire.hpp"
#include "vial/app.hpp"
#include "vial/async/timeout.hpp"
#include "vial/http/json.hpp"
#include "vial/server/options.hpp"

namespace {

namespace fs = std::filesystem;
using vial::json;
using vial::fuzz::check;
using vial::fuzz::fail;

constexpr std::string_view secret_key = "vial-fuzz-secret-key";
// The files of the static folder; secret.txt lies next to it.
constexpr std::string_view static_files[] = {"hello, static\n", "<p>page</p>\n", "{\"a\": 1}\n"};
constexpr std::size_t upload_limit = 64;
constexpr std::size_t import_limit = 4096;

vial::server_options fuzz_server_options() {
  vial::server_options o;
  // Smaller than the defaults so that inputs of a few KiB reach every limit.
  o.max_header_bytes = 2048;
  o.max_body_bytes = 1024;
  o.max_uri_bytes = 512;
  return o;
}

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Lines logged at error level while answering one request.
std::vector<std::string>& error_lines() {
  static std::vector<std::string> lines;
  return lines;
}

class notes_view {
 public:
  std::optional<vial::response> before(vial::request& req) {
    if (req.header("X-Deny")) return vial::response::text("denied\n", 403);
    return std::nullopt;
  }
  json get(std::int64_t id) { return {{"note", id}}; }
  vial::task<vial::status> delete_(std::int64_t) { co_return vial::status::no_content; }
  void after(vial::request&, vial::response& res) { res.set_header("X-View", "notes"); }
};

// A scratch directory: static/ is served, secret.txt next to it must never be.
struct static_tree {
  static_tree() {
    root = fs::temp_directory_path() / ("vial-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(root / "static" / "sub");
    std::ofstream(root / "secret.txt") << "not to be served\n";
    std::ofstream(root / "static" / "hello.txt") << static_files[0];
    std::ofstream(root / "static" / "sub" / "page.html") << static_files[1];
    std::ofstream(root / "static" / "data.json") << static_files[2];
    std::error_code ec;
    fs::create_directory_symlink("..", root / "static" / "up", ec);  // leads outside
  }
  ~static_tree() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path root;
};

void configure(vial::app& app, const static_tree& tree) {
  app.set_logger(vial::logger(
      [](vial::log_level level, std::string_view line) {
        if (level >= vial::log_level::error) error_lines().emplace_back(line);
      },
      vial::log_level::warning));

  app.get("/", [] { return "index"; });
  app.get("/users/<int:id>",
          [](std::int64_t id) {
            return json{{"id", id}};
          },
          {.endpoint = "user"});
  app.get("/small/<int:n>", [](std::uint8_t n) { return std::to_string(n); });
  app.get("/price/<float:amount>", [](double amount) { return json{{"amount", amount}}; });
  app.get("/files/<path:name>", [](std::string_view name) { return std::string(name); });
  app.get("/files/<path:name>/edit", [](const vial::request& req, std::string name) {
    return name + " " + std::string(req.path());
  });
  app.get("/objects/<uuid:id>", [](vial::uuid id) { return id.to_string(); });
  app.get("/kind/<any(book, 'film', \"long play\"):kind>/<name>",
          [](std::string kind, std::string name) { return kind + ":" + name; });
  app.get("/docs/", [] { return "docs"; });
  app.route("/things/<int:id>", {"GET", "PUT", "DELETE"}, [](const vial::request& req, int id) {
    return json{{"id", id}, {"method", req.method_name()}};
  });

  app.post("/api/echo", [](const vial::request& req) { return req.json(); });
  app.post("/api/sum", [](const vial::request& req) {
    const json& body = req.json();
    if (!body.is_array()) vial::abort(422, "expected an array of numbers");
    double sum = 0;
    for (const auto& v : body) {
      if (!v.is_number()) vial::abort(422, "expected an array of numbers");
      sum += v.get<double>();
    }
    return json{{"sum", sum}};
  });
  app.post("/form", [](const vial::request& req) {
    json out = json::object();
    for (const auto& [key, value] : req.form()) out["fields"][key] = value;
    for (const auto& f : req.files()) {
      out["files"].push_back({{"field", f.field},
                              {"filename", f.filename},
                              {"type", f.content_type},
                              {"size", f.content.size()}});
    }
    return out;
  });
  app.put("/upload", [](const vial::request& req) { return std::to_string(req.body().size()); },
          {.max_body_bytes = upload_limit});
  app.post("/import", [](const vial::request& req) { return std::to_string(req.body().size()); },
           {.max_body_bytes = import_limit});
  app.get("/search", [](const vial::request& req) {
    auto page = req.args().get_as<int>("page").value_or(1);
    auto exact = req.args().get_as<bool>("exact").value_or(false);
    auto min = req.args().get_as<double>("min");
    json out{{"page", page}, {"exact", exact}, {"q", req.args().get_all("q")}};
    if (min) out["min"] = *min;
    return out;
  });
  app.get("/cookies", [](const vial::request& req) {
    json out = json::object();
    for (const auto& [name, value] : req.cookies()) out[name] = value;
    if (auto n = req.cookies().get_as<long>("n")) out["n_plus_one"] = *n + (*n < 1000 ? 1 : 0);
    return out;
  });
  app.get("/session", [](vial::request& req) { return vial::session_of(req).data(); });
  app.post("/session", [](vial::request& req) {
    auto& s = vial::session_of(req);
    for (const auto& [key, value] : req.form()) s.set(key, value);
    return vial::status::no_content;
  });
  app.delete_("/session", [](vial::request& req) {
    vial::session_of(req).clear();
    return vial::status::no_content;
  });
  app.get("/async/<int:n>", [](std::int64_t n) -> vial::task<json> {
    auto op = vial::sleep_for(std::chrono::milliseconds(0));
    co_await std::move(op);
    co_return json{{"n", n}};
  });
  app.get("/abort/<int:code>",
          [](int code) -> std::string { vial::abort(400 + code % 100, "aborted on request"); });
  app.get("/custom", []() -> std::string { throw custom_error("custom failure"); });
  app.get("/boom", []() -> std::string { throw std::runtime_error("deliberate failure"); });
  app.get("/redirect", [](const vial::request& req) {
    return vial::redirect("/search?" + std::string(req.query_string()));
  });
  app.get("/stream", [] {
    return vial::stream([n = 0]() mutable -> std::optional<std::string> {
      if (n == 3) return std::nullopt;
      return "chunk " + std::to_string(n++) + "\n";
    });
  });
  app.add_view("/notes/<int:id>", std::make_shared<notes_view>(), {.endpoint = "note"});

  app.before_request([](vial::request& req) -> std::optional<vial::response> {
    if (req.path() == "/blocked") return vial::response::text("blocked\n", 451);
    return std::nullopt;
  });
  app.after_request([](vial::response& res) { res.add_header("X-Frame-Options", "DENY"); });
  app.teardown_request([](vial::request&, std::exception_ptr) {});
  app.errorhandler(404, [](const vial::request& req, const vial::http_error& e) {
    return vial::response::json({{"missing", req.path()}, {"error", e.description()}}, 404);
  });
  app.errorhandler<custom_error>([](const custom_error& e) {
    return std::make_tuple(std::string(e.what()), vial::status::service_unavailable);
  });

  // A blueprint whose chain is a coroutine (an async hook), with its own error handler.
  vial::blueprint api("api", "/api/v1");
  api.before_request([](vial::request& req) -> vial::task<std::optional<vial::response>> {
    if (req.header("X-Api-Key") == std::optional<std::string_view>("wrong")) {
      co_return vial::response::text("bad key\n", 401);
    }
    co_return std::nullopt;
  });
  api.get("/items/<int:id>", [](std::int64_t id) { return json{{"item", id}}; });
  api.post("/items", [](const vial::request& req) {
    const json& body = req.json();
    if (!body.is_object() || !body.contains("name")) vial::abort(422, "name is required");
    return std::make_tuple(json{{"created", body["name"]}}, vial::status::created);
  });
  api.errorhandler(422, [](const vial::http_error& e) {
    return vial::response::json({{"invalid", e.description()}}, 422);
  });
  vial::blueprint admin("admin", "/admin");
  admin.get("/", [] { return "admin"; });
  admin.get("/users/<uuid:id>", [](vial::uuid id) { return id.to_string(); });
  api.register_blueprint(admin);
  app.register_blueprint(api);

  vial::enable_sessions(app, {.max_age = std::chrono::hours(24 * 365 * 50)});  // seeds never expire
  vial::enable_cors(app, {.origins = {"https://app.example"}, .allow_credentials = true});
  app.static_folder("/static", (tree.root / "static").string());
}

const vial::app& fuzz_app() {
  static static_tree tree;
  static vial::app app(
      {.secret_key = std::string(secret_key), .blocking_threads = 1, .background_threads = 1});
  static const bool configured = (configure(app, tree), true);
  (void)configured;
  return app;
}

// ---- invariants ------------------------------------------------------------------------------

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

void check_request(const vial::request& req, const vial::server_options& options,
                   const vial::app& app) {
  if (req.version() == 11) {
    check(req.headers().count("Host") == 1,
          "HTTP/1.1 request without exactly one Host reached the app");
  }
  check(!(req.headers().contains("Transfer-Encoding") && req.headers().contains("Content-Length")),
        "request with both Transfer-Encoding and Content-Length reached the app");
  std::size_t limit = options.max_body_bytes;
  if (auto route = app.body_limit(req.method_name(), req.path())) limit = *route;
  check(req.body().size() <= limit, "request body past its route's limit reached the app",
        req.target());
}

void check_response(const vial::request& req, const vial::response& res) {
  const int status = res.status();
  check(status >= 100 && status <= 599, "status outside 100..599", std::to_string(status));
  check(status != 500 || req.path() == "/boom", "500 from a route that does not fail",
        req.target());
  check(error_lines().empty() || req.path() == "/boom", "error logged",
        error_lines().empty() ? std::string_view() : std::string_view(error_lines().front()));

  for (const auto& [name, value] : res.headers()) {
    check(is_token(name), "response header name is not a token", name);
    check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
          "response header value holds CR, LF or NUL", name);
  }
  if (auto location = res.headers().get("Location")) {
    // Only local redirects here: "//host" or "/\\host" would send a browser elsewhere.
    check(
        location->starts_with("/") && !location->starts_with("//") && !location->starts_with("/\\"),
        "redirect leaves the site", *location);
  }
  if (auto allowed = res.headers().get("Access-Control-Allow-Origin")) {
    check(*allowed == "https://app.example" && req.header("Origin") == *allowed,
          "CORS allows an origin that is not configured", *allowed);
  }
  for (auto cookie : res.headers().get_all("Set-Cookie")) {
    if (!cookie.starts_with("session=") || cookie.starts_with("session=;")) continue;
    auto value = cookie.substr(8, cookie.find(';') - 8);
    auto data = vial::decode_session_cookie(value, secret_key, std::chrono::hours(1));
    check(data && data->is_object(), "the session cookie written does not decode", cookie);
  }
  std::string head;
  vial::server_detail::serialize_head(head, res, res.body().size(), {.chunked = res.is_stream()});
  check(head.find("\r\n\r\n") == head.size() - 4, "serialized head is not one header section");

  std::string body = res.body();
  if (res.is_stream()) {
    for (int i = 0; i < 16; ++i) {
      auto chunk = res.stream()->next();
      if (!chunk) break;
      body += *chunk;
    }
    res.stream()->close();
  }
  if (req.path().starts_with("/static/") && status >= 200 && status < 300) {
    // The answer is one of the files in the folder, or a range of one.
    bool inside = false;
    for (std::string_view content : static_files) {
      inside = inside || content.find(body) != content.npos;
    }
    check(inside, "static folder served something that is not in it", req.target());
  }
  if (res.content_type() == "application/json" && !body.empty()) {
    check(json::accept(body), "JSON response body does not parse", body);
  }
}

// ---- the connection --------------------------------------------------------------------------

// One message the reader accepted, to compare two ways of reading the same bytes.
struct message_record {
  vial::server_detail::read_state state;
  int status;
  std::string method;
  std::string target;
  std::string body;
  std::size_t header_count;
  friend bool operator==(const message_record&, const message_record&) = default;
};

// Reads the stream as a keep-alive connection does: feed what is buffered, read more (`next_read`
// bytes at most) when the reader asks, and go on after each message while keep-alive holds.
template <class NextRead, class OnRequest>
std::vector<message_record> read_connection(std::string_view input, const vial::app& app,
                                            const vial::server_options& options, NextRead next_read,
                                            OnRequest on_request) {
  using vial::server_detail::read_state;
  std::vector<message_record> out;
  vial::server_detail::request_reader reader(app, options);
  reader.reset();
  std::string buffer;
  auto read = [&] {
    if (input.empty()) return false;
    auto n = std::min(input.size(), next_read());
    buffer.append(input.substr(0, n));
    input.remove_prefix(n);
    return true;
  };
  for (;;) {
    if (buffer.empty() && !read()) return out;
    auto step = reader.feed(buffer);
    check(step.used <= buffer.size(), "reader used more bytes than it was given");
    buffer.erase(0, step.used);
    switch (step.state) {
      case read_state::need_more:
        if (!read()) return out;
        break;
      case read_state::body:
        check(step.used > 0, "header accepted without consuming it");
        break;
      case read_state::failed:
        check(reader.status() >= 400 && reader.status() <= 505, "failed with a non-error status");
        return out;
      case read_state::refused: {
        const bool keep_alive = reader.keep_alive();
        out.push_back({step.state, reader.status(), reader.method(), reader.target(), {}, 0});
        check(reader.status() >= 400 && reader.status() <= 499, "refused with a non-4xx status");
        // The app answers a refused request, through its hooks and error handlers.
        vial::request req = reader.take_request();
        check(req.refusal() && req.refusal()->status() == reader.status(),
              "refused request without its refusal");
        on_request(req);
        if (!keep_alive) return out;
        reader.reset();
        break;
      }
      case read_state::complete: {
        const bool keep_alive = reader.keep_alive();
        vial::request req = reader.take_request();
        out.push_back({step.state, 0, std::string(req.method_name()), std::string(req.target()),
                       req.body(), req.headers().size()});
        on_request(req);
        if (!keep_alive) return out;
        reader.reset();
        break;
      }
    }
  }
}

std::string describe(const std::vector<message_record>& messages) {
  std::string out;
  for (const auto& m : messages) {
    out += "{state " + std::to_string(static_cast<int>(m.state)) + ", status " +
           std::to_string(m.status) + ", " + m.method + " " + m.target + ", body " +
           std::to_string(m.body.size()) + ", headers " + std::to_string(m.header_count) + "} ";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const vial::server_options options = fuzz_server_options();
  static const bool verbose = std::getenv("VIAL_FUZZ_VERBOSE") != nullptr;
  const vial::app& app = fuzz_app();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto server_reads = [] { return std::size_t{8192}; };
  auto dispatch = [&](vial::request& req) {
    req.set_remote_address("127.0.0.1:50000");
    check_request(req, options, app);
    error_lines().clear();
    vial::response res;
    try {
      res = app.dispatch(req);
    } catch (...) {
      fail("dispatch threw", vial::describe_exception(std::current_exception()));
    }
    check_response(req, res);
    if (verbose) {
      std::fprintf(stderr, "%s %s -> %d %s\n", std::string(req.method_name()).c_str(),
                   std::string(req.target()).c_str(), res.status(),
                   res.body().substr(0, 80).c_str());
    }
  };
  auto served = read_connection(input, app, options, server_reads, dispatch);

  // Small reads of a size that varies with the input, so every split point gets tried.
  std::size_t seed = size;
  auto small_reads = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return std::size_t{1} + (seed >> 60);
  };
  auto trickled = read_connection(input, app, options, small_reads, [](vial::request&) {});
  if (served != trickled) {
    fail("the messages depend on how the bytes were split into reads",
         describe(served) + " vs " + describe(trickled));
  }
  return 0;
}
