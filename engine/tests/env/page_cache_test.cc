// The page cache against the file it caches: whatever mix of reads, writes (partial pages, whole
// pages, runs of pages) and truncates, a read through the cache returns the file's bytes, and the cache
// never holds more chunks than its capacity (cached chunks are served without a read of the file).
#include "engine/env/page_cache.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <random>

#include "engine/env/mem_env.h"
#include "engine/env/posix_env.h"

namespace lsm {
namespace {

// Counts the reads that reach the file, and the vectored reads; fails reads that touch [fail_from, fail_to).
class CountingFile : public FileWrapper {
 public:
  using FileWrapper::FileWrapper;
  Status Read(uint64_t offset, std::span<uint8_t> out) override {
    ++reads;
    if (offset < fail_to && offset + out.size() > fail_from) return Status::IoError("injected");
    return FileWrapper::Read(offset, out);
  }
  Status ReadV(uint64_t offset, std::span<const std::span<uint8_t>> outs) override {
    ++vectored;
    chunks_last_readv = outs.size();
    return File::ReadV(offset, outs);  // one Read per span
  }
  int reads = 0;
  int vectored = 0;
  size_t chunks_last_readv = 0;
  uint64_t fail_from = 0, fail_to = 0;
};

// `steps` random operations through `cache` over the first `span` bytes of its file: writes (partial
// pages, whole pages, runs of pages; `write_pct` of them), truncates (`truncate_pct`), and reads, each of
// which must return what `file_bytes(offset, length)` says the file holds (zeros past its end). Sets
// *mapped if a read found the cache mapping the file.
void ExpectReadsSeeTheFile(CachedFile& cache, uint64_t span, int steps, uint64_t seed, uint64_t write_pct,
                           uint64_t truncate_pct, const std::function<Bytes(uint64_t, size_t)>& file_bytes,
                           bool* mapped = nullptr) {
  const uint32_t chunk = cache.chunk_size();
  std::mt19937_64 rng(seed);
  for (int step = 0; step < steps; ++step) {
    const uint64_t op = rng() % 100;
    const uint64_t offset = rng() % span;
    if (op < write_pct) {
      Bytes data(rng() % (6 * chunk) + 1, uint8_t(step));
      ASSERT_TRUE(cache.Write(offset, data).ok());
    } else if (op < write_pct + truncate_pct) {
      ASSERT_TRUE(cache.Truncate(offset).ok());
    } else {
      Bytes got(rng() % (3 * chunk) + 1);
      ASSERT_TRUE(cache.Read(offset, got).ok());
      ASSERT_EQ(got, file_bytes(offset, got.size())) << "step " << step;
      if (mapped != nullptr) *mapped |= cache.mapped();
    }
  }
}

TEST(PageCacheTest, ReadsSeeTheFileThroughEveryChange) {
  constexpr uint32_t kChunk = 256;
  constexpr size_t kChunks = 40;  // the file spans up to 64 chunks: evictions happen
  MemEnv env;
  auto opened = env.Open("f", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(opened.ok());
  auto counting = std::make_unique<CountingFile>(std::move(*opened));
  CountingFile* file = counting.get();
  CachedFile cache(std::move(counting), kChunk, kChunks * kChunk);
  ExpectReadsSeeTheFile(cache, 64 * kChunk, 20000, 7, 15, 1, [&](uint64_t offset, size_t n) {
    auto contents = env.Contents("f");
    Bytes want(n, 0);
    for (size_t i = 0; contents.ok() && i < n && offset + i < contents->size(); ++i) want[i] = (*contents)[offset + i];
    return want;
  });
  if (HasFatalFailure()) return;
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

TEST(PageCacheTest, AMissReadsAheadTheChunksAskedForThatAreNotCachedInOneVectoredRead) {
  constexpr uint32_t kChunk = 256;
  constexpr size_t kChunks = 40;
  MemEnv env;
  auto opened = env.Open("f", OpenMode::kReadWriteCreate);
  ASSERT_TRUE(opened.ok());
  Bytes contents(64 * kChunk);
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = uint8_t(i * 7 + i / kChunk);
  ASSERT_TRUE((*opened)->Write(0, contents).ok());
  auto counting = std::make_unique<CountingFile>(std::move(*opened));
  CountingFile* file = counting.get();
  CachedFile cache(std::move(counting), kChunk, kChunks * kChunk);
  auto expect_chunk = [&](uint64_t index) {
    auto got = cache.ReadChunk(index);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(std::equal(got->get(), got->get() + kChunk, contents.begin() + index * kChunk)) << "chunk " << index;
  };

  // Chunk 0 and the 7 after it come in one ReadV; reading them then reaches the file no more.
  ASSERT_TRUE(cache.ReadChunk(0, 7).ok());
  EXPECT_EQ(file->vectored, 1);
  EXPECT_EQ(file->chunks_last_readv, 8u);
  const int reads = file->reads;
  for (uint64_t c = 0; c < 8; ++c) expect_chunk(c);
  EXPECT_EQ(file->reads, reads);
  EXPECT_EQ(cache.cached_chunks(), 8u);

  // The read-ahead stops at the first chunk already cached.
  expect_chunk(12);
  ASSERT_TRUE(cache.ReadChunk(10, 7).ok());
  EXPECT_EQ(file->chunks_last_readv, 2u);  // 10 and 11

  // Never more than a quarter of the capacity ahead, and never more chunks than the capacity.
  ASSERT_TRUE(cache.ReadChunk(20, 30).ok());
  EXPECT_EQ(file->chunks_last_readv, 1u + kChunks / 4);
  for (uint64_t c = 0; c < 64; c += 5) ASSERT_TRUE(cache.ReadChunk(c, 63 - c).ok());
  EXPECT_LE(cache.cached_chunks(), kChunks);
  for (uint64_t c = 0; c < 64; ++c) expect_chunk(c);

  // A read-ahead that fails costs nothing but itself: the chunk asked for is read alone.
  auto second = env.Open("f", OpenMode::kReadOnly);
  ASSERT_TRUE(second.ok());
  auto failing = std::make_unique<CountingFile>(std::move(*second));
  failing->fail_from = 33 * kChunk;
  failing->fail_to = 34 * kChunk;
  CachedFile cold(std::move(failing), kChunk, kChunks * kChunk);
  auto got = cold.ReadChunk(30, 5);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(std::equal(got->get(), got->get() + kChunk, contents.begin() + 30 * kChunk));
  EXPECT_EQ(cold.cached_chunks(), 1u);
  EXPECT_EQ(cold.ReadChunk(33).status().code(), Code::kIoError);
  EXPECT_EQ(cold.cached_chunks(), 1u);
}

// With a map (PosixEnv), reads come from it and still see every write and truncate at once.
TEST(PageCacheTest, MappedReadsSeeTheFileThroughEveryChange) {
  char dir[] = "/tmp/lsmsim-page-cache-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/f";
  constexpr uint32_t kChunk = 4096;
  {
    auto opened = PosixEnv::Default()->Open(path, OpenMode::kReadWriteCreate);
    ASSERT_TRUE(opened.ok());
    CachedFile cache(std::move(*opened), kChunk, 8 * kChunk, /*map=*/true);
    // The file's bytes as a second, uncached handle reads them.
    auto other = PosixEnv::Default()->Open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(other.ok());
    bool ever_mapped = false;
    ExpectReadsSeeTheFile(cache, 48 * kChunk, 3000, 11, 20, 2, [&](uint64_t offset, size_t n) {
      Bytes want(n, 0xEE);
      EXPECT_TRUE((*other)->Read(offset, want).ok());
      return want;
    }, &ever_mapped);
    EXPECT_TRUE(ever_mapped);
    EXPECT_LE(cache.cached_chunks(), 8u);
  }
  std::remove(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace lsm
