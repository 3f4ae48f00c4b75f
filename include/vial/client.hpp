#pragma once

// The client module: outbound HTTP(S) calls with connection pooling.
#include "vial/client/error.hpp"
#include "vial/client/http_client.hpp"
#include "vial/client/options.hpp"
#include "vial/client/response.hpp"
