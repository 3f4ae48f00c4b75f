#pragma once

#include "vial/app/app.hpp"

// Class-based views (Flask's MethodView). A view is any class with some of the members `get`,
// `post`, `put`, `patch` and `delete_`, each taking what a route handler takes
// (`request&` first if wanted, then the rule's parameters) and returning a response value or
// `task<...>` of one. Members are detected with requires-expressions: a method the class lacks
// is simply not registered, so the router answers it 405 with Allow.
//
// What applies to every method of a view (an auth check, a header) goes in two optional
// members, which run as hooks scoped to the view's routes, after the app's and blueprints'
// before hooks and before their after hooks:
//   std::optional<X> before(request&)        // or task<...>; a value answers the request
//   void after(request&, response&)          // or task<void>, or returns a new response value
//
// `app::add_view` and `blueprint::add_view` (scaffold.hpp) register them.
