// Checkpoints as JSON, in the shape shared/golden/ckpt/README.md defines (field names and meanings),
// plus a human-readable text form. Used by `lsmsim ckpt decode|encode` and the golden tests.
#pragma once

#include <string>

#include "engine/bytes.h"
#include "engine/format/checkpoint.h"
#include "sim/json.h"

namespace lsm {

// The whole report for one meta page or blob: the raw id and nckpt, checksum_ok (2 < nckpt <= 1024
// and the checksum words match, as the golden README defines it), valid (the decoder accepted it),
// and, when valid, every field of the checkpoint; otherwise "error".
Json MetaPageReport(ByteView page);

// Every field of a decoded checkpoint (nckpt, nlevel and checksum derived by encoding).
Json CheckpointToJson(const Checkpoint& c);

// The inverse of CheckpointToJson; derived fields (nckpt, nlevel, checksum_ok, checksum, valid) are
// ignored. Errors name the JSON path, e.g. "levels[1].rhs[0]: expected 4 page numbers".
Result<Checkpoint> CheckpointFromJson(const Json& json);

// A person's view of the same report.
std::string MetaPageText(ByteView page);

}  // namespace lsm
