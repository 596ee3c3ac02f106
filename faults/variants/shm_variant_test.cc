// The shared-memory publication's defences, removed one at a time (engine/weaken.h): the visibility
// model must catch each within 1000 seeds, in contract (no shm fault on).
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/weaken.h"
#include "sim/shm/publication_run.h"

namespace lsm::faults {
namespace {

// The first of seeds 1..1000 that fails (0: none).
uint64_t FirstFailingSeed(weaken::Variant v) {
  weaken::active = v;
  uint64_t first = 0;
  for (uint64_t seed = 1; seed <= 1000 && first == 0; ++seed) first = sim::RunPublication(seed, {}).pass ? 0 : seed;
  weaken::active = weaken::Variant::kNone;
  return first;
}

TEST(ShmVariantTest, NoBarrierBeforePublicationIsCaught) {
  const uint64_t seed = FirstFailingSeed(weaken::Variant::kNoBarrierBeforePublication);
  std::printf("no_barrier_before_publication: first failing seed %llu\n", (unsigned long long)seed);
  EXPECT_NE(seed, 0u);
}

TEST(ShmVariantTest, PublicationChecksumIgnoredIsCaught) {
  const uint64_t seed = FirstFailingSeed(weaken::Variant::kPublicationChecksumIgnored);
  std::printf("publication_checksum_ignored: first failing seed %llu\n", (unsigned long long)seed);
  EXPECT_NE(seed, 0u);
}

}  // namespace
}  // namespace lsm::faults
