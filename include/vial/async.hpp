#pragma once

#include "vial/async/background.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/error.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/task.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
