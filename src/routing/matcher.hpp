#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vial/routing/rule.hpp"

namespace vial::detail {

/// Hashes std::string keys and string_view lookups alike, so a lookup builds no string.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The routes registered for one rule shape (same literals, same converters in the same places;
// parameter names do not count).
struct route_terminal {
  std::size_t route = 0;
  std::vector<std::string> methods;  // as registered: unique, upper-case
};

// The texts a walk captured for the converters on its way, in rule order. Most rules have few
// parameters: those stay inline, so a match allocates nothing for them.
class capture_list {
 public:
  void push_back(std::string_view text) {
    if (size_ < inline_.size()) {
      inline_[size_] = text;
    } else {
      overflow_.push_back(text);
    }
    ++size_;
  }
  void pop_back() noexcept {
    --size_;
    if (size_ >= inline_.size()) overflow_.pop_back();
  }
  std::size_t size() const noexcept { return size_; }
  std::string_view operator[](std::size_t i) const noexcept {
    return i < inline_.size() ? inline_[i] : overflow_[i - inline_.size()];
  }

 private:
  std::array<std::string_view, 8> inline_{};
  std::vector<std::string_view> overflow_;
  std::size_t size_ = 0;
};

// What the tree found for (method, path). `captures` are views into the matched path, one per
// rule parameter, in rule order.
struct tree_match {
  enum class outcome { found, not_found, method_not_allowed };
  outcome result = outcome::not_found;
  std::size_t route = 0;
  capture_list captures;
  std::string allowed;
};

// A segment trie of rules. Each level tries the literal child first (one hash lookup), then the
// converter children in precedence order (any, int, float, uuid, string, path), so the cost of a
// match follows the path's depth and the few converters at each level, not the number of rules.
// The first terminal in that order that takes the method wins, and ends the walk; when none
// does, every branch that fits the path is visited, because the Allow list needs every rule
// that matches it.
// Configure on one thread; `match` and `find` are const and safe from any thread afterwards.
class route_tree {
 public:
  route_tree();
  ~route_tree();
  route_tree(route_tree&&) noexcept;
  route_tree& operator=(route_tree&&) noexcept;

  // The routes already registered with `r`'s shape; empty when none.
  const std::vector<route_terminal>& find(const rule& r) const;
  // Registers `route` under `r`'s shape. The caller has checked for conflicts.
  void insert(const rule& r, route_terminal terminal);
  // Matches a percent-decoded path.
  tree_match match(std::string_view method, std::string_view path) const;

 private:
  struct node;
  friend class route_walk;
  std::unique_ptr<node> root_;
};

}  // namespace vial::detail
