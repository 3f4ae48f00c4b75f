#pragma once

#include "vial/server/options.hpp"
#include "vial/server/server.hpp"
