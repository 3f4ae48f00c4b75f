#pragma once

// Every test includes this shim, never Catch directly: v3 where present, else Debian 12's v2.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
