#pragma once

// Every public header of vial.
#include "vial/app.hpp"
#include "vial/async.hpp"
#include "vial/client.hpp"
#include "vial/http.hpp"
#include "vial/log.hpp"
#include "vial/metrics.hpp"
#include "vial/routing.hpp"
#include "vial/server.hpp"
#include "vial/testing.hpp"
#include "vial/version.hpp"
