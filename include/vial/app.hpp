#pragma once

#include "vial/app/app.hpp"
#include "vial/app/stream.hpp"
#include "vial/app/to_response.hpp"
