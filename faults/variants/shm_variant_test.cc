// The shared-memory publication's defences, removed one at a time (engine/weaken.h): the visibility
// model must catch each within 1000 seeds, in contract (no shm fault on).
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/weaken.h"
#include "sim/shm/publication_run.h"

namespace lsm::faults {
namespace {

// The first of seeds 1..1000 that fails (0: none), and how many fail.
std::pair<uint64_t, int> Failing(weaken::Variant v) {
  weaken::active = v;
  uint64_t first = 0;
  int failed = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    if (sim::RunPublication(seed, {}).pass) continue;
    ++failed;
    if (first == 0) first = seed;
  }
  weaken::active = weaken::Variant::kNone;
  return {first, failed};
}

TEST(ShmVariantTest, NoBarrierBeforePublicationIsCaught) {
  const auto [seed, failed] = Failing(weaken::Variant::kNoBarrierBeforePublication);
  std::printf("no_barrier_before_publication: first failing seed %llu, %d of 1000 seeds fail\n", (unsigned long long)seed, failed);
  EXPECT_NE(seed, 0u);
}

TEST(ShmVariantTest, PublicationChecksumIgnoredIsCaught) {
  const auto [seed, failed] = Failing(weaken::Variant::kPublicationChecksumIgnored);
  std::printf("publication_checksum_ignored: first failing seed %llu, %d of 1000 seeds fail\n", (unsigned long long)seed, failed);
  EXPECT_NE(seed, 0u);
}

}  // namespace
}  // namespace lsm::faults
