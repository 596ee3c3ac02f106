// Arbitrary bytes as a meta-tree key: decoding never crashes; an accepted key re-encodes to itself.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/format/metatree_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lsm;
  auto key = DecodeMetaTreeKey(ByteView(data, size));
  if (size < kMetaTreeKeyPrefix) {
    if (key.ok()) std::abort();
    return 0;
  }
  if (!key.ok()) std::abort();
  Bytes again = EncodeMetaTreeKey(*key);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  return 0;
}
