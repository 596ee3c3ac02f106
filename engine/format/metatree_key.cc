#include "engine/format/metatree_key.h"

#include "absl/strings/str_format.h"

namespace lsm {

Bytes EncodeMetaTreeKey(const MetaTreeKey& key) {
  Bytes out;
  out.reserve(kMetaTreeKeyPrefix + key.separator.size());
  AppendBe32(out, key.age);
  AppendBe32(out, ~key.level);
  out.insert(out.end(), key.separator.begin(), key.separator.end());
  return out;
}

Result<MetaTreeKey> DecodeMetaTreeKey(ByteView bytes) {
  if (bytes.size() < kMetaTreeKeyPrefix) {
    return Status::Corrupt(absl::StrFormat("meta-tree key is %u bytes; the age and level prefix needs %u",
                                           bytes.size(), kMetaTreeKeyPrefix));
  }
  MetaTreeKey key;
  key.age = LoadBe32(bytes.data());
  key.level = ~LoadBe32(bytes.data() + 4);
  key.separator.assign(bytes.begin() + kMetaTreeKeyPrefix, bytes.end());
  return key;
}

}  // namespace lsm
