// A crash image: what one build of lsmsim leaves on the simulated disk at a seed's first power loss,
// with the model that judges its recovery, written as files that another build reads and recovers
// (lsmsim compat: an on-disk format change checked against the build before it).
//
// DIR/db and DIR/db-log are the durable images (no db-log if the log was never durable); DIR/image.json
// holds the scenario and seed, the operation at which the power failed, the checkpoint the writing
// build's decoder says recovery must open, and the oracle (Oracle::ToJson).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/bytes.h"
#include "engine/status.h"
#include "sim/json.h"

namespace lsm::sim {

struct CrashImage {
  std::string scenario;
  uint64_t seed = 0;
  uint64_t op = 0;             // the operation during which the power failed
  uint64_t checkpoint_id = 0;  // the newest valid checkpoint, as the writing build decodes it
  Bytes db;
  std::optional<Bytes> log;
  Json oracle;
};

Status WriteCrashImage(const std::string& dir, const CrashImage& image);
// kInvalidArgument naming the file and the field for anything missing or malformed.
Result<CrashImage> ReadCrashImage(const std::string& dir);

}  // namespace lsm::sim
