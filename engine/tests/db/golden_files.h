// Paths and bytes of the golden files written by the real SQLite4 LSM engine (../shared/golden).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/bytes.h"

namespace lsm::testing {

inline std::filesystem::path GoldenDir() {
  const char* env = std::getenv("LSMSIM_GOLDEN_DIR");
  return env != nullptr ? std::filesystem::path(env) : std::filesystem::path(LSMSIM_GOLDEN_DIR);
}

inline Bytes ReadGolden(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace lsm::testing
