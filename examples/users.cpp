// The seeds' users API, a class-based view over a database:
//
//   class UserAPI(MethodView):
//       async def get(self, user_id=None): ...
//       async def post(self): ...            # 201
//       async def put(self, user_id): ...
//       async def delete(self, user_id): ... # 204
//
// SQLite is blocking, so every query runs on the app's blocking pool through `to_thread`
// (asgiref's sync_to_async); the coroutine waits without holding the pool's thread.
//
// As in Flask, the collection and the single user are two views over one store; a method a
// view lacks is answered 405 with Allow.
//
// Unlike the seed, GET /users is paginated by id (keyset: `WHERE id > after LIMIT n`, as cheap
// on page 1000 as on page 1), so no answer holds more than 1000 users:
//   GET /users                      the plain array of the seed: the first 1000 users, and when
//                                   there are more, `Link: </users?after=ID&limit=1000>;
//                                   rel="next"`
//   GET /users?limit=N&after=ID     {"users": [...], "next": "/users?after=...&limit=N" or
//                                   null}: N from 1 to 1000 (default 1000), users with id > ID
// Request bodies are at most 16 KiB (413 past it). Names and emails holding a NUL character
// are refused (400), and text columns are read by their byte length, so a NUL already in the
// database cannot cut a value short.

#include <sqlite3.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "demos.hpp"
#include <vial/app/view.hpp>
#include <vial/async/task.hpp>
#include <vial/async/to_thread.hpp>
#include <vial/http/error.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>
#include <vial/log.hpp>

namespace examples {
namespace {

struct user {
  long long id = 0;
  std::string name;
  std::string email;

  nlohmann::json to_json() const { return {{"id", id}, {"name", name}, {"email", email}}; }
};

/// The users table. One connection, one query at a time; safe from any thread.
///
/// Failures of the database itself are answered plainly and never leave half a change: every
/// write is one statement, which SQLite applies whole or not at all, and a transaction a
/// failure left open is rolled back. A write refused because the database is read-only or its
/// disk is full is a 503 saying so ("the change was not saved"), as is a database that cannot
/// be opened or stays locked; other SQLite errors are a 500. The details go to the log.
///
/// The connection is opened lazily and retried on every request, so the rest of the examples
/// serve while the database is unavailable, and the users API comes back by itself once it is
/// fixed (Flask's per-request connection, in effect).
class user_store {
 public:
  user_store(std::string path, const vial::logger& log) : path_(std::move(path)), log_(log) {
    std::lock_guard lock(mutex_);
    try {
      connection();
    } catch (const vial::http_error&) {
      // Logged by connection(); /users answers 503 until the database can be opened.
    }
  }
  ~user_store() { sqlite3_close(db_); }
  user_store(const user_store&) = delete;
  user_store& operator=(const user_store&) = delete;

  /// Up to `limit` users with an id above `after`, by id.
  std::vector<user> list(long long after, int limit) {
    std::lock_guard lock(mutex_);
    statement st(*this, "SELECT id, name, email FROM users WHERE id > ? ORDER BY id LIMIT ?");
    sqlite3_bind_int64(st.get(), 1, after);
    sqlite3_bind_int(st.get(), 2, limit);
    std::vector<user> out;
    while (st.step()) out.push_back(st.row());
    return out;
  }

  std::optional<user> get(long long id) {
    std::lock_guard lock(mutex_);
    return find(id);
  }

  /// Throws a 409 http_error when the email is taken.
  user create(const std::string& name, const std::string& email) {
    std::lock_guard lock(mutex_);
    statement st(*this, "INSERT INTO users (name, email) VALUES (?, ?)");
    st.bind(1, name);
    st.bind(2, email);
    st.step();
    return user{sqlite3_last_insert_rowid(db_), name, email};
  }

  /// The updated user, or nullopt when there is none with `id`. 409 when the email is taken.
  std::optional<user> update(long long id, const std::optional<std::string>& name,
                             const std::optional<std::string>& email) {
    std::lock_guard lock(mutex_);
    auto found = find(id);
    if (!found) return std::nullopt;
    if (name) found->name = *name;
    if (email) found->email = *email;
    statement st(*this, "UPDATE users SET name = ?, email = ? WHERE id = ?");
    st.bind(1, found->name);
    st.bind(2, found->email);
    sqlite3_bind_int64(st.get(), 3, id);
    st.step();
    return found;
  }

  /// False when there was no user with `id`.
  bool remove(long long id) {
    std::lock_guard lock(mutex_);
    statement st(*this, "DELETE FROM users WHERE id = ?");
    sqlite3_bind_int64(st.get(), 1, id);
    st.step();
    return sqlite3_changes(db_) > 0;
  }

 private:
  class statement {
   public:
    statement(user_store& store, const char* sql)
        : store_(store), db_(store.connection()), sql_(sql) {
      if (sqlite3_prepare_v2(db_, sql, -1, &st_, nullptr) != SQLITE_OK) {
        store_.fail(sqlite3_extended_errcode(db_), sql, false);
      }
    }
    ~statement() { sqlite3_finalize(st_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    sqlite3_stmt* get() const noexcept { return st_; }
    void bind(int index, const std::string& text) {
      sqlite3_bind_text(st_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    /// True while there is a row to read.
    bool step() {
      int rc = sqlite3_step(st_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      if ((rc & 0xff) == SQLITE_CONSTRAINT) throw vial::http_error(409, "Email already exists");
      store_.fail(sqlite3_extended_errcode(db_), sql_, sqlite3_stmt_readonly(st_) == 0);
    }
    user row() const { return user{sqlite3_column_int64(st_, 0), text(1), text(2)}; }
    /// The whole value, NULs included: text first, then its length in bytes (SQLite's order).
    std::string text(int column) const {
      const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(st_, column));
      if (!data) return {};
      return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(st_, column)));
    }

   private:
    user_store& store_;
    sqlite3* db_;
    const char* sql_;
    sqlite3_stmt* st_ = nullptr;
  };

  /// The open connection, opening it first if needed. Call with `mutex_` held.
  sqlite3* connection() {
    if (db_) return db_;
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      // WAL is a preference: a read-only database can still be read without it.
      rc = exec(db, "PRAGMA journal_mode=WAL");
      if ((rc & 0xff) == SQLITE_READONLY) rc = SQLITE_OK;
      if (rc == SQLITE_OK) {
        rc = exec(db,
                  "CREATE TABLE IF NOT EXISTS users ("
                  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                  " name TEXT NOT NULL,"
                  " email TEXT NOT NULL UNIQUE)");
      }
    }
    if (rc != SQLITE_OK) {
      const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      if (!unavailable_) {
        log_.warning("users: cannot open " + path_ + ": " + why +
                     "; /users answers 503 until it can");
        unavailable_ = true;
      }
      throw vial::http_error(503, "The database is unavailable.");
    }
    if (unavailable_) log_.info("users: " + path_ + " is open again");
    unavailable_ = false;
    db_ = db;
    return db_;
  }

  /// Throws what a failed statement means for the client (see the class comment), after
  /// logging the details and rolling back whatever the failure left open. `writes`: the
  /// statement changes the database.
  [[noreturn]] void fail(int code, std::string_view sql, bool writes) {
    const std::string why = sqlite3_errmsg(db_);
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    log_.warning("users: sqlite: " + why + " (" + std::string(sql.substr(0, sql.find(' '))) +
                 ", code " + std::to_string(code) + ")");
    const int primary = code & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      throw vial::http_error(503, "The database is busy; retry shortly.",
                             vial::headers{{"Retry-After", "1"}});
    }
    if (writes && primary == SQLITE_READONLY) {
      throw vial::http_error(503, "The database is read-only; the change was not saved.");
    }
    // A full disk is SQLITE_FULL; a file-size or quota limit (EFBIG, EDQUOT) or a failing
    // disk is an I/O error on write. Either way the statement was not applied.
    if (writes && (primary == SQLITE_FULL || primary == SQLITE_IOERR)) {
      throw vial::http_error(
          503,
          "The database cannot store more data (disk full or failing); the change was not "
          "saved.");
    }
    throw std::runtime_error("sqlite: " + why);
  }

  static int exec(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  }

  std::optional<user> find(long long id) {
    statement st(*this, "SELECT id, name, email FROM users WHERE id = ?");
    sqlite3_bind_int64(st.get(), 1, id);
    if (!st.step()) return std::nullopt;
    return st.row();
  }

  const std::string path_;
  const vial::logger& log_;
  sqlite3* db_ = nullptr;
  bool unavailable_ = false;
  std::mutex mutex_;
};

/// Characters, not bytes: UTF-8 continuation bytes are not counted.
std::size_t length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

/// `field` of the body when present: a string passing the rules, else a 400.
std::optional<std::string> field(const nlohmann::json& data, const char* name, bool required) {
  auto it = data.find(name);
  if (it == data.end()) {
    if (required) throw vial::http_error(400, std::string("'") + name + "' is required");
    return std::nullopt;
  }
  if (!it->is_string()) throw vial::http_error(400, std::string("'") + name + "' must be a string");
  auto value = it->get<std::string>();
  if (value.find('\0') != std::string::npos) {
    throw vial::http_error(400, std::string("'") + name + "' must not contain a NUL character");
  }
  if (std::string_view(name) == "name" && (value.empty() || length(value) > 50)) {
    throw vial::http_error(400, "'name' must be 1 to 50 characters");
  }
  if (std::string_view(name) == "email" &&
      (length(value) > 100 || value.find('@') == std::string::npos)) {
    throw vial::http_error(400, "'email' must be an address of at most 100 characters");
  }
  return value;
}

const nlohmann::json& json_object(const vial::request& req) {
  const auto& data = req.json();  // 400 on invalid JSON, 415 on another Content-Type
  if (!data.is_object()) throw vial::http_error(400, "expected a JSON object");
  return data;
}

vial::response not_found() { return vial::response::json({{"error", "User not found"}}, 404); }

constexpr int max_page_size = 1000;
constexpr std::size_t max_user_body_bytes = 16 * 1024;

std::string next_page(long long after, int limit) {
  return "/users?after=" + std::to_string(after) + "&limit=" + std::to_string(limit);
}

}  // namespace

/// GET and POST /users: the collection (MethodView's `user_id=None` case).
class user_list_view {
 public:
  explicit user_list_view(std::shared_ptr<user_store> store) : store_(std::move(store)) {}

  vial::task<vial::response> get(vial::request& req) {
    const bool paged = req.args().contains("limit") || req.args().contains("after");
    const int limit = int_arg(req, "limit", max_page_size, 1, max_page_size);
    const long long after = req.args().get_as<long long>("after").value_or(0);
    // One more than the page, to know whether there is a next one.
    auto list = [store = store_, after, limit] { return store->list(after, limit + 1); };
    auto users = co_await vial::to_thread(list);
    std::optional<std::string> next;
    if (users.size() > static_cast<std::size_t>(limit)) {
      users.pop_back();
      next = next_page(users.back().id, limit);
    }
    nlohmann::json page = nlohmann::json::array();
    for (const auto& u : users) page.push_back(u.to_json());
    if (paged) {
      co_return vial::response::json(
          {{"users", std::move(page)}, {"next", next ? nlohmann::json(*next) : nullptr}});
    }
    auto r = vial::response::json(page);
    if (next) r.headers().set("Link", "<" + *next + ">; rel=\"next\"");
    co_return r;
  }

  vial::task<vial::response> post(vial::request& req) {
    const auto& data = json_object(req);
    auto name = *field(data, "name", true);
    auto email = *field(data, "email", true);
    auto create = [store = store_, name, email] { return store->create(name, email); };
    auto created = co_await vial::to_thread(create);
    co_return vial::response::json(created.to_json(), 201);
  }

 private:
  std::shared_ptr<user_store> store_;
};

/// GET, PUT and DELETE /users/<int:id>: one user.
class user_view {
 public:
  explicit user_view(std::shared_ptr<user_store> store) : store_(std::move(store)) {}

  vial::task<vial::response> get(long long id) {
    auto read = [store = store_, id] { return store->get(id); };
    auto found = co_await vial::to_thread(read);
    co_return found ? vial::response::json(found->to_json()) : not_found();
  }

  vial::task<vial::response> put(vial::request& req, long long id) {
    const auto& data = json_object(req);
    auto name = field(data, "name", false);
    auto email = field(data, "email", false);
    if (!name && !email) throw vial::http_error(400, "give 'name' and/or 'email'");
    auto update = [store = store_, id, name, email] { return store->update(id, name, email); };
    auto updated = co_await vial::to_thread(update);
    co_return updated ? vial::response::json(updated->to_json()) : not_found();
  }

  vial::task<vial::response> delete_(long long id) {
    auto remove = [store = store_, id] { return store->remove(id); };
    const bool removed = co_await vial::to_thread(remove);
    co_return removed ? vial::response(std::string(), 204, {}) : not_found();
  }

 private:
  std::shared_ptr<user_store> store_;
};

void register_users(vial::app& app, const context& ctx) {
  auto store = std::make_shared<user_store>(ctx.db_path, app.logger());
  app.add_view("/users", std::make_shared<user_list_view>(store),
               {.max_body_bytes = max_user_body_bytes});
  app.add_view("/users/<int:id>", std::make_shared<user_view>(store),
               {.max_body_bytes = max_user_body_bytes});
}

}  // namespace examples
