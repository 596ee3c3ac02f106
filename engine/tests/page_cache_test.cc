// The page cache against the file it caches: whatever mix of reads, writes (partial pages, whole
// pages, runs of pages) and truncates, a read through the cache returns the file's bytes, and the cache
// never holds more chunks than its capacity (cached chunks are served without a read of the file).
#include "engine/page_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "engine/mem_env.h"

namespace lsm {
namespace {

// Counts the reads that reach the file.
class CountingFile : public FileWrapper {
 public:
  using FileWrapper::FileWrapper;
  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    ++reads;
    return FileWrapper::Read(offset, out);
  }
  int reads = 0;
};

TEST(PageCacheTest, ReadsSeeTheFileThroughEveryChange) {
  constexpr uint32_t kChunk = 256;
  constexpr size_t kChunks = 40;  // the file spans up to 64 chunks: evictions happen
  MemEnv env;
  auto opened = env.Open("f", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(opened.ok());
  auto counting = std::make_unique<CountingFile>(std::move(*opened));
  CountingFile* file = counting.get();
  CachedFile cache(std::move(counting), kChunk, kChunks * kChunk);
  std::mt19937_64 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const uint64_t op = rng() % 100;
    const uint64_t offset = rng() % (64 * kChunk);
    if (op < 15) {
      Bytes data(rng() % (6 * kChunk) + 1, uint8_t(step));
      ASSERT_TRUE(cache.Write(offset, data).ok());
    } else if (op < 16) {
      ASSERT_TRUE(cache.Truncate(offset).ok());
    } else {
      Bytes got(rng() % (3 * kChunk) + 1);
      ASSERT_TRUE(cache.Read(offset, got).ok());
      auto contents = env.Contents("f");
      ASSERT_TRUE(contents.ok());
      Bytes want(got.size(), 0);
      for (size_t i = 0; i < want.size() && offset + i < contents->size(); ++i) want[i] = (*contents)[offset + i];
      ASSERT_EQ(got, want) << "step " << step;
    }
  }
  // The most recently used chunks stay cached: reading them again reaches the file no more.
  Bytes page(kChunk);
  for (uint64_t c = 0; c < kChunks; ++c) ASSERT_TRUE(cache.Read(c * kChunk, page).ok());
  const int before = file->reads;
  for (uint64_t c = kChunks; c-- > 0;) ASSERT_TRUE(cache.Read(c * kChunk, page).ok());
  EXPECT_EQ(file->reads, before);
  ASSERT_TRUE(cache.Read(kChunks * kChunk, page).ok());  // evicts the least recently used: chunk 39
  EXPECT_EQ(file->reads, before + 1);
  ASSERT_TRUE(cache.Read(0, page).ok());
  EXPECT_EQ(file->reads, before + 1);
  ASSERT_TRUE(cache.Read((kChunks - 1) * kChunk, page).ok());
  EXPECT_EQ(file->reads, before + 2);
}

}  // namespace
}  // namespace lsm
