// A bump allocator: memory is carved out of large blocks and freed all at once, with the arena. The
// in-memory tree keeps its nodes, keys and values in one, so a write costs no malloc of its own and
// dropping a flushed tree frees a few blocks instead of three allocations per entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <vector>

#include "engine/bytes.h"

namespace lsm {

class Arena final : public std::pmr::memory_resource {
 public:
  // A copy of `bytes` that lives as long as the arena.
  ByteView Copy(ByteView bytes) {
    if (bytes.empty()) return {};
    auto* p = static_cast<uint8_t*>(allocate(bytes.size(), 1));
    std::memcpy(p, bytes.data(), bytes.size());
    return {p, bytes.size()};
  }
  // Bytes handed out so far (alignment padding included); deallocation gives nothing back.
  size_t allocated() const { return allocated_; }

 private:
  static constexpr size_t kBlockSize = 64 * 1024;

  void* do_allocate(size_t bytes, size_t align) override {
    const size_t pad = (align - reinterpret_cast<uintptr_t>(next_) % align) % align;
    if (pad + bytes > left_) {
      // Large requests get a block of their own, so that the current block's tail is not wasted.
      if (bytes > kBlockSize / 4) return NewBlock(bytes);
      next_ = NewBlock(kBlockSize);
      left_ = kBlockSize;
      return do_allocate(bytes, align);
    }
    std::byte* p = next_ + pad;
    next_ = p + bytes;
    left_ -= pad + bytes;
    allocated_ += pad + bytes;
    return p;
  }
  void do_deallocate(void*, size_t, size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  // operator new[] aligns for any fundamental type, which is all the tree asks for.
  std::byte* NewBlock(size_t bytes) {
    blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(bytes));
    if (bytes != kBlockSize) allocated_ += bytes;
    return blocks_.back().get();
  }

  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::byte* next_ = nullptr;
  size_t left_ = 0;
  size_t allocated_ = 0;
};

}  // namespace lsm
