#pragma once

#include "vial/testing/test_client.hpp"
