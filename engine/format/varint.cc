#include "engine/format/varint.h"

namespace lsm {

size_t GetVarintLong(ByteView in, uint64_t* value) {
  if (in.empty()) return 0;
  uint8_t a0 = in[0];
  if (a0 <= 240) {
    *value = a0;
    return 1;
  }
  if (a0 <= 248) {
    if (in.size() < 2) return 0;
    *value = 240 + 256 * uint64_t(a0 - 241) + in[1];
    return 2;
  }
  if (a0 == 249) {
    if (in.size() < 3) return 0;
    *value = 2288 + 256 * uint64_t(in[1]) + in[2];
    return 3;
  }
  size_t n = size_t(a0 - 250) + 3;  // 250 → 3 payload bytes ... 255 → 8
  if (in.size() < n + 1) return 0;
  uint64_t v = 0;
  for (size_t i = 1; i <= n; ++i) v = (v << 8) | in[i];
  *value = v;
  return n + 1;
}

size_t VarintLength(uint64_t v) {
  if (v <= 240) return 1;
  if (v <= 2287) return 2;
  if (v <= 67823) return 3;
  if (v < (uint64_t(1) << 24)) return 4;
  if (v < (uint64_t(1) << 32)) return 5;
  uint64_t w = v >> 32;
  if (w <= 255) return 6;
  if (w <= 32767) return 7;  // the reference writer's threshold
  if (w < (uint64_t(1) << 24)) return 8;
  return 9;
}

size_t PutVarint(uint8_t* out, uint64_t v) {
  size_t len = VarintLength(v);
  if (len == 1) {
    out[0] = uint8_t(v);
  } else if (len == 2) {
    v -= 240;
    out[0] = uint8_t(241 + v / 256);
    out[1] = uint8_t(v % 256);
  } else if (len == 3) {
    v -= 2288;
    out[0] = 249;
    out[1] = uint8_t(v >> 8);
    out[2] = uint8_t(v);
  } else {
    size_t n = len - 1;
    out[0] = uint8_t(250 + (n - 3));
    for (size_t i = 0; i < n; ++i) out[n - i] = uint8_t(v >> (8 * i));
  }
  return len;
}

void AppendVarint(Bytes& out, uint64_t value) {
  uint8_t buf[kMaxVarintLength];
  size_t n = PutVarint(buf, value);
  out.insert(out.end(), buf, buf + n);
}

}  // namespace lsm
