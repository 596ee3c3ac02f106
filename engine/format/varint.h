// SQLite4's order-preserving variable-length integers (1..9 bytes, the first byte gives the length),
// used by segment pages and the log. Decoding accepts every form; encoding is byte-identical with the
// reference writer, including its quirk of switching from the 7-byte to the 8-byte form above
// 32767 (not 65535) in the high word.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/bytes.h"

namespace lsm {

inline constexpr size_t kMaxVarintLength = 9;

// Decodes one varint from `in`; returns the bytes consumed, or 0 if `in` ends inside it.
size_t GetVarintLong(ByteView in, uint64_t* value);
inline size_t GetVarint(ByteView in, uint64_t* value) {
  if (!in.empty() && in[0] <= 240) {  // the one-byte form: most lengths and deltas
    *value = in[0];
    return 1;
  }
  return GetVarintLong(in, value);
}

// Number of bytes PutVarint writes for `value`.
size_t VarintLength(uint64_t value);

// Writes the varint to out[0..VarintLength(value)) and returns its length.
size_t PutVarint(uint8_t* out, uint64_t value);
void AppendVarint(Bytes& out, uint64_t value);

}  // namespace lsm
