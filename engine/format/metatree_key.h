// Keys of the bt engine's meta-tree (seed 003_7768a1d881b74f6e), which indexes fast-insert sub-trees:
//
//   BE32 age | BE32 ~level | separator bytes (possibly empty)
//
// Storing the level bit-inverted makes byte order equal (age ascending, level DESCENDING, separator
// ascending): within an age, newer (higher) levels sort first, which is the order a reader visits them.
#pragma once

#include <cstdint>

#include "engine/bytes.h"
#include "engine/status.h"

namespace lsm {

inline constexpr size_t kMetaTreeKeyPrefix = 8;

struct MetaTreeKey {
  uint32_t age = 0;
  uint32_t level = 0;
  Bytes separator;
  bool operator==(const MetaTreeKey&) const = default;
};

Bytes EncodeMetaTreeKey(const MetaTreeKey& key);

// kCorrupt for keys shorter than the 8-byte prefix.
Result<MetaTreeKey> DecodeMetaTreeKey(ByteView bytes);

}  // namespace lsm
