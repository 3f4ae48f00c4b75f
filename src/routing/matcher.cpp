#include "matcher.hpp"

#include <algorithm>
#include <functional>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace vial::detail {

namespace {

// Lower ranks are tried first: converters that accept little beat `string`, which beats `path`.
int rank(converter_kind kind) noexcept {
  switch (kind) {
    case converter_kind::any:
      return 0;
    case converter_kind::int_:
      return 1;
    case converter_kind::float_:
      return 2;
    case converter_kind::uuid:
      return 3;
    case converter_kind::string:
      return 4;
    case converter_kind::path:
      return 5;
  }
  return 6;
}

bool precedes(const converter& a, const converter& b) noexcept {
  return std::forward_as_tuple(rank(a.kind), a.choices) <
         std::forward_as_tuple(rank(b.kind), b.choices);
}

bool contains(const std::vector<std::string>& methods, std::string_view m) noexcept {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

std::string join(const std::vector<std::string>& methods) {
  std::string out;
  for (const auto& m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

}  // namespace

struct route_tree::node {
  struct param_edge {
    converter conv;
    std::unique_ptr<node> child;
  };

  std::unordered_map<std::string, std::unique_ptr<node>, string_hash, std::equal_to<>> literals;
  std::vector<param_edge> params;  // sorted by `precedes`
  std::vector<route_terminal> routes;
  std::vector<std::string> allowed_methods;  // sorted, with HEAD for GET and OPTIONS
  std::string allowed;                       // the same, joined

  const node* literal(std::string_view text) const {
    auto it = literals.find(text);
    return it == literals.end() ? nullptr : it->second.get();
  }

  const node* param(const converter& conv) const {
    for (const auto& e : params) {
      if (e.conv == conv) return e.child.get();
    }
    return nullptr;
  }

  node& literal_or_add(const std::string& text) {
    auto& slot = literals[text];
    if (!slot) slot = std::make_unique<node>();
    return *slot;
  }

  node& param_or_add(const converter& conv) {
    for (auto& e : params) {
      if (e.conv == conv) return *e.child;
    }
    auto pos = std::find_if(params.begin(), params.end(),
                            [&](const param_edge& e) { return precedes(conv, e.conv); });
    pos = params.insert(pos, param_edge{conv, std::make_unique<node>()});
    return *pos->child;
  }

  void add(route_terminal terminal) {
    routes.push_back(std::move(terminal));
    allowed_methods.clear();
    for (const auto& r : routes) {
      allowed_methods.insert(allowed_methods.end(), r.methods.begin(), r.methods.end());
    }
    if (contains(allowed_methods, "GET")) allowed_methods.emplace_back("HEAD");
    allowed_methods.emplace_back("OPTIONS");
    std::sort(allowed_methods.begin(), allowed_methods.end());
    allowed_methods.erase(std::unique(allowed_methods.begin(), allowed_methods.end()),
                          allowed_methods.end());
    allowed = join(allowed_methods);
  }

  // The route that answers `method` here: one registered for it, else a GET route for HEAD.
  const route_terminal* accepting(std::string_view method) const noexcept {
    for (const auto& r : routes) {
      if (contains(r.methods, method)) return &r;
    }
    if (method == "HEAD") {
      for (const auto& r : routes) {
        if (contains(r.methods, "GET")) return &r;
      }
    }
    return nullptr;
  }
};

namespace {

constexpr std::size_t end_of_path = std::string_view::npos;

}  // namespace

// One depth-first walk. Positions are offsets of a segment's first byte in `path_`;
// `end_of_path` means every segment has been consumed.
class route_walk {
 public:
  using node = route_tree::node;

  route_walk(std::string_view method, std::string_view path) : method_(method), path_(path) {}

  void run(const node& root) {
    if (path_.empty() || path_.front() != '/') return;
    walk(root, 1);
  }

  tree_match result() && {
    tree_match out;
    if (best_ != nullptr) {
      out.result = tree_match::outcome::found;
      out.route = best_->route;
      out.captures = std::move(best_captures_);
      return out;
    }
    if (first_ == nullptr) return out;
    out.result = tree_match::outcome::method_not_allowed;
    if (more_.empty()) {
      out.allowed = first_->allowed;
    } else {
      std::vector<std::string> methods = first_->allowed_methods;
      for (const node* n : more_) {
        methods.insert(methods.end(), n->allowed_methods.begin(), n->allowed_methods.end());
      }
      std::sort(methods.begin(), methods.end());
      methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
      out.allowed = join(methods);
    }
    return out;
  }

 private:
  void walk(const node& n, std::size_t pos) {
    if (best_ != nullptr) return;  // nothing later in precedence order can change the result
    if (pos == end_of_path) {
      if (!n.routes.empty()) reached(n);
      return;
    }
    std::size_t slash = path_.find('/', pos);
    std::string_view seg =
        slash == end_of_path ? path_.substr(pos) : path_.substr(pos, slash - pos);
    std::size_t next = slash == end_of_path ? end_of_path : slash + 1;

    if (!n.literals.empty()) {
      if (const node* child = n.literal(seg)) walk(*child, next);
    }
    for (const auto& edge : n.params) {
      if (edge.conv.kind == converter_kind::path) {
        walk_path(*edge.child, pos);
      } else if (edge.conv.accepts(seg)) {
        captures_.push_back(seg);
        walk(*edge.child, next);
        captures_.pop_back();
      }
    }
  }

  // A path converter takes one or more non-empty segments; shortest first (Werkzeug's `.*?`),
  // so `/<path:p>/edit` reads "/a/edit" as p = "a".
  void walk_path(const node& child, std::size_t pos) {
    std::size_t p = pos;
    while (true) {
      std::size_t slash = path_.find('/', p);
      std::size_t end = slash == end_of_path ? path_.size() : slash;
      if (end == p) return;  // an empty segment ends the run
      captures_.push_back(path_.substr(pos, end - pos));
      walk(child, slash == end_of_path ? end_of_path : slash + 1);
      captures_.pop_back();
      if (slash == end_of_path) return;
      p = slash + 1;
    }
  }

  void reached(const node& n) {
    if (first_ == nullptr) {
      first_ = &n;
    } else {
      more_.push_back(&n);
    }
    if (best_ == nullptr) {
      if (const route_terminal* t = n.accepting(method_)) {
        best_ = t;
        best_captures_ = captures_;
      }
    }
  }

  std::string_view method_;
  std::string_view path_;
  capture_list captures_;
  capture_list best_captures_;
  const route_terminal* best_ = nullptr;
  const node* first_ = nullptr;
  std::vector<const node*> more_;
};

route_tree::route_tree() : root_(std::make_unique<node>()) {}
route_tree::~route_tree() = default;
route_tree::route_tree(route_tree&&) noexcept = default;
route_tree& route_tree::operator=(route_tree&&) noexcept = default;

const std::vector<route_terminal>& route_tree::find(const rule& r) const {
  static const std::vector<route_terminal> none;
  const node* n = root_.get();
  for (const auto& seg : r.segments()) {
    n = seg.is_param ? n->param(seg.conv) : n->literal(seg.text);
    if (n == nullptr) return none;
  }
  return n->routes;
}

void route_tree::insert(const rule& r, route_terminal terminal) {
  node* n = root_.get();
  for (const auto& seg : r.segments()) {
    n = seg.is_param ? &n->param_or_add(seg.conv) : &n->literal_or_add(seg.text);
  }
  n->add(std::move(terminal));
}

tree_match route_tree::match(std::string_view method, std::string_view path) const {
  route_walk walk(method, path);
  walk.run(*root_);
  return std::move(walk).result();
}

}  // namespace vial::detail
