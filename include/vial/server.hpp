#pragma once

#include "vial/server/access_log.hpp"
#include "vial/server/options.hpp"
#include "vial/server/server.hpp"
