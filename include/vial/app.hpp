#pragma once

#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/app/cors.hpp"
#include "vial/app/health.hpp"
#include "vial/app/metrics.hpp"
#include "vial/app/session.hpp"
#include "vial/app/static_files.hpp"
#include "vial/app/stream.hpp"
#include "vial/app/to_response.hpp"
#include "vial/app/view.hpp"
#include "vial/app/websocket.hpp"
