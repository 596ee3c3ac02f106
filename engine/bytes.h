// Fixed-width integer access in the byte orders the on-disk formats use. Loads and stores go through
// memcpy-free shifts so they are defined for any alignment and any host byte order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lsm {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline uint64_t LoadBe64(const uint8_t* p) { return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4); }
inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, uint32_t(v >> 32));
  StoreBe32(p + 4, uint32_t(v));
}
inline uint16_t LoadBe16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

inline void AppendBe32(Bytes& out, uint32_t v) {
  uint8_t b[4];
  StoreBe32(b, v);
  out.insert(out.end(), b, b + 4);
}
inline void AppendBe64(Bytes& out, uint64_t v) {
  AppendBe32(out, uint32_t(v >> 32));
  AppendBe32(out, uint32_t(v));
}

inline ByteView AsBytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
inline std::string_view AsChars(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Lower-case hex of `bytes`, two digits per byte.
std::string ToHex(ByteView bytes);
// Parses hex (either case, even length, no separators) into *out; false on any bad digit or odd length.
bool FromHex(std::string_view hex, Bytes* out);

}  // namespace lsm
