// Included into every cmd/ file by CMake: CLI11 is costly to parse.
#pragma once
#include <CLI/CLI.hpp>
