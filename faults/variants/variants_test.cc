// Every weakened engine variant is caught by the first scenario meant for it, within 500
// seeds (the full table, classic vs catalogue, is lsmsim_variants' job: BENCHMARKS.md).
#include "faults/scenarios.h"
#include "faults/variants/variants.h"
#include "gtest/gtest.h"
#include "sim/runner.h"

namespace lsm::faults {

// gtest names each case by the variant instead of printing its bytes.
void PrintTo(const VariantInfo& v, std::ostream* os) { *os << v.name; }

namespace {

class VariantTest : public testing::TestWithParam<VariantInfo> {};

TEST_P(VariantTest, CaughtByItsFamily) {
  const VariantInfo& v = GetParam();
  auto s = LoadScenario(v.scenarios[0]);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const Hunt h = HuntVariant(v, *s, 1, 500);
  EXPECT_TRUE(h.caught) << v.name << " survived " << h.seeds << " seeds of " << v.scenarios[0];
  if (h.caught) std::printf("%s caught by %s seed %llu: %s\n", v.name, v.scenarios[0], (unsigned long long)h.seed, h.message.c_str());
}

INSTANTIATE_TEST_SUITE_P(Weakened, VariantTest, testing::ValuesIn(Variants()),
                         [](const testing::TestParamInfo<VariantInfo>& i) { return std::string(i.param.name); });

// The weakened library with no variant active is the real engine: its family scenarios pass.
TEST(VariantTest, NoVariantIsTheRealEngine) {
  weaken::active = weaken::Variant::kNone;
  for (const char* name : {"faults-torn", "faults-io", "faults-latent"}) {
    auto s = LoadScenario(name);
    ASSERT_TRUE(s.ok());
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      sim::SeedResult r = sim::RunSeed(*s, seed);
      EXPECT_TRUE(r.pass) << name << " seed " << seed << ": " << r.message;
    }
  }
}

}  // namespace
}  // namespace lsm::faults
