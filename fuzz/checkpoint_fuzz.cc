// Feeds arbitrary bytes to the checkpoint decoder as a blob and as a pair of meta pages. Properties:
// never crashes or over-reads (ASan); an accepted blob re-encodes to exactly its first nckpt*4 bytes
// and survives the JSON round trip; recovery's choice agrees with the checkpoint oracle.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/format/checkpoint.h"
#include "engine/format/meta_page.h"
#include "sim/checkpoint_json.h"
#include "sim/checkpoint_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lsm;
  ByteView bytes(data, size);
  auto decoded = DecodeCheckpoint(bytes);
  if (decoded.ok()) {
    auto encoded = EncodeCheckpoint(*decoded);
    if (!encoded.ok() || encoded->size() > size || std::memcmp(encoded->data(), data, encoded->size()) != 0) {
      std::abort();
    }
    auto back = CheckpointFromJson(CheckpointToJson(*decoded));
    if (!back.ok() || !(*back == *decoded)) std::abort();
  } else {
    (void)decoded.error().ToString();
  }
  (void)MetaPageReport(bytes);

  // The same bytes as two meta pages (the second starts half way).
  ByteView page1 = bytes.first(size / 2);
  ByteView page2 = bytes.subspan(size / 2);
  if (ChooseMetaPage(page1, page2).page != NewestValidCheckpoint(page1, page2)) std::abort();
  return 0;
}
