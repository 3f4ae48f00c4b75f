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

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include <vial/app/view.hpp>
#include <vial/async/task.hpp>
#include <vial/async/to_thread.hpp>
#include <vial/http/error.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

#include "demos.hpp"

namespace examples {
namespace {

struct user {
  long long id = 0;
  std::string name;
  std::string email;

  nlohmann::json to_json() const { return {{"id", id}, {"name", name}, {"email", email}}; }
};

/// The users table. One connection, one query at a time; safe from any thread.
class user_store {
 public:
  explicit user_store(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                 SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE IF NOT EXISTS users ("
         " id INTEGER PRIMARY KEY AUTOINCREMENT,"
         " name TEXT NOT NULL,"
         " email TEXT NOT NULL UNIQUE)");
  }
  ~user_store() { sqlite3_close(db_); }
  user_store(const user_store&) = delete;
  user_store& operator=(const user_store&) = delete;

  std::vector<user> list() {
    std::lock_guard lock(mutex_);
    statement st(db_, "SELECT id, name, email FROM users ORDER BY id");
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
    statement st(db_, "INSERT INTO users (name, email) VALUES (?, ?)");
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
    statement st(db_, "UPDATE users SET name = ?, email = ? WHERE id = ?");
    st.bind(1, found->name);
    st.bind(2, found->email);
    sqlite3_bind_int64(st.get(), 3, id);
    st.step();
    return found;
  }

  /// False when there was no user with `id`.
  bool remove(long long id) {
    std::lock_guard lock(mutex_);
    statement st(db_, "DELETE FROM users WHERE id = ?");
    sqlite3_bind_int64(st.get(), 1, id);
    st.step();
    return sqlite3_changes(db_) > 0;
  }

 private:
  class statement {
   public:
    statement(sqlite3* db, const char* sql) : db_(db) {
      if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) fail();
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
      fail();
    }
    user row() const {
      return user{sqlite3_column_int64(st_, 0),
                  reinterpret_cast<const char*>(sqlite3_column_text(st_, 1)),
                  reinterpret_cast<const char*>(sqlite3_column_text(st_, 2))};
    }

   private:
    [[noreturn]] void fail() const { throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_)); }
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
  };

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(std::string("sqlite: ") + message);
    }
  }

  std::optional<user> find(long long id) {
    statement st(db_, "SELECT id, name, email FROM users WHERE id = ?");
    sqlite3_bind_int64(st.get(), 1, id);
    if (!st.step()) return std::nullopt;
    return st.row();
  }

  sqlite3* db_ = nullptr;
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

}  // namespace

/// GET and POST /users: the collection (MethodView's `user_id=None` case).
class user_list_view {
 public:
  explicit user_list_view(std::shared_ptr<user_store> store) : store_(std::move(store)) {}

  vial::task<vial::response> get() {
    auto op = vial::to_thread([store = store_] { return store->list(); });
    auto users = co_await std::move(op);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : users) out.push_back(u.to_json());
    co_return vial::response::json(out);
  }

  vial::task<vial::response> post(vial::request& req) {
    const auto& data = json_object(req);
    auto name = *field(data, "name", true);
    auto email = *field(data, "email", true);
    auto op = vial::to_thread([store = store_, name, email] { return store->create(name, email); });
    auto created = co_await std::move(op);
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
    auto op = vial::to_thread([store = store_, id] { return store->get(id); });
    auto found = co_await std::move(op);
    co_return found ? vial::response::json(found->to_json()) : not_found();
  }

  vial::task<vial::response> put(vial::request& req, long long id) {
    const auto& data = json_object(req);
    auto name = field(data, "name", false);
    auto email = field(data, "email", false);
    if (!name && !email) throw vial::http_error(400, "give 'name' and/or 'email'");
    auto op = vial::to_thread(
        [store = store_, id, name, email] { return store->update(id, name, email); });
    auto updated = co_await std::move(op);
    co_return updated ? vial::response::json(updated->to_json()) : not_found();
  }

  vial::task<vial::response> delete_(long long id) {
    auto op = vial::to_thread([store = store_, id] { return store->remove(id); });
    const bool removed = co_await std::move(op);
    co_return removed ? vial::response(std::string(), 204, {}) : not_found();
  }

 private:
  std::shared_ptr<user_store> store_;
};

void register_users(vial::app& app, const context& ctx) {
  auto store = std::make_shared<user_store>(ctx.db_path);
  app.add_view<user_list_view>("/users", store);
  app.add_view<user_view>("/users/<int:id>", store);
}

}  // namespace examples
