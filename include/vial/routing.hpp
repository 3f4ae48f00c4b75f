#pragma once

#include "vial/routing/converter.hpp"
#include "vial/routing/error.hpp"
#include "vial/routing/router.hpp"
#include "vial/routing/rule.hpp"
