// The catalogue's entries, the `faults` field's validation, the crash policies, and short campaigns of
// every built-in fault scenario on the real engine (each family must fire, every seed must pass).
#include <set>

#include "faults/catalogue.h"
#include "faults/plan.h"
#include "faults/policies.h"
#include "faults/scenarios.h"
#include "gtest/gtest.h"
#include "sim/runner.h"

namespace lsm::faults {
namespace {

TEST(Catalogue, EveryFamilyHasItsContract) {
  std::set<std::string> names;
  ASSERT_EQ(Catalogue().size(), size_t(kFamilies));
  for (size_t i = 0; i < Catalogue().size(); ++i) {
    const Entry& e = Catalogue()[i];
    EXPECT_EQ(size_t(e.family), i);
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_GT(std::string(e.what).size(), 20u) << e.name;
    EXPECT_GT(std::string(e.where).size(), 5u) << e.name;
    EXPECT_GT(std::string(e.demands).size(), 10u) << e.name;
    EXPECT_EQ(e.in_contract, e.oracle == sim::OracleKind::kFull) << e.name;
    EXPECT_EQ(FamilyNamed(e.name), e.family);
  }
  EXPECT_FALSE(FamilyNamed("nonsense"));
}

Result<sim::Scenario> FromText(const std::string& text) {
  auto j = ParseJson(text);
  if (!j.ok()) return j.status();
  return sim::ScenarioFromJson(*j, "", &Parser());
}

TEST(FaultsField, BadInputNamesTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"faults": 3})", "\"faults\": expected an object"},
      {R"({"faults": {"families": ["torn", "tron"]}})", "\"faults.families[1]\": unknown family \"tron\""},
      {R"({"faults": {"families": {"torn": 0}}})", "\"faults.families.torn\": expected a rate per 10000"},
      {R"({"faults": {"families": {"torn": 20000}}})", "\"faults.families.torn\""},
      {R"({"faults": {"families": ["torn", "torn"]}})", "listed twice"},
      {R"({"faults": {"families": []}})", "\"faults.families\": expected at least one family"},
      {R"({"faults": {"families": "some"}})", "\"faults.families\": expected \"all\""},
      {R"({"faults": {"families": "all", "sector_size": [1024]}})", "\"faults.sector_size\": item 0 is not 512 or 4096"},
      {R"({"faults": {"families": "all", "swarm": 1}})", "\"faults.swarm\": expected true or false"},
      {R"({"faults": {"families": "all", "rates": {}}})", "\"faults\": unknown field \"rates\""},
      {R"({"faults": {}})", "\"faults.families\": missing"},
  };
  for (const Case& c : cases) {
    auto s = FromText(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.message), std::string::npos) << s.status().message();
  }
  auto without = sim::ScenarioFromJson(*ParseJson(R"({"faults": {"families": "all"}})"));
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.status().message().find("\"faults\""), std::string::npos);
  auto ok = FromText(R"({"faults": {"families": {"torn": 5000, "io-error": 10}, "swarm": false, "sector_size": [4096]}})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_TRUE(ok->faults);
  // The scenario's JSON carries the field back (repro files).
  auto again = FromText(ok->ToJson().Dump());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ToJson().Dump(), ok->ToJson().Dump());
}

TEST(TornPolicy, TearsWholeSectorsOnly) {
  // A 3-sector write over old bytes 0x11: every sector of the result is all old, all new, all zeros or
  // garbage, across many decision streams; some stream tears.
  const uint32_t sector = 512;
  sim::PendingOp op{sim::PendingOp::kWrite, 256, Bytes(1024, 0x22), 1};
  bool torn = false;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    sim::PrngDecisions d(seed);
    TornPolicy p(false);
    Bytes image(2048, 0x11);
    auto o = p.Decide("db", op, sector, &image, d);
    torn |= o == sim::CrashPolicy::kTorn;
    for (uint64_t s = 0; s < image.size(); s += sector) {
      // Within the write's own range, a sector is uniform per source.
      const uint64_t lo = std::max<uint64_t>(s, op.offset), hi = std::min<uint64_t>(s + sector, op.offset + 1024);
      if (lo >= hi) continue;
      std::set<uint8_t> seen(image.begin() + lo, image.begin() + hi);
      if (seen.size() == 1) {
        continue;  // old, new or zeros
      }
      EXPECT_GT(seen.size(), 8u) << "seed " << seed << " sector " << s << " mixes old and new";  // garbage
    }
    // Nothing outside the sectors the write covers changes.
    for (uint64_t i = 1536; i < 2048; ++i) EXPECT_EQ(image[i], 0x11);
  }
  EXPECT_TRUE(torn);
}

TEST(TornPolicy, ByteTearKeepsANewPrefix) {
  sim::PendingOp op{sim::PendingOp::kWrite, 100, Bytes(300, 0x22), 1};
  bool mid = false;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    sim::PrngDecisions d(seed);
    TornPolicy p(true);
    Bytes image(1000, 0x11);
    p.Decide("db", op, 512, &image, d);
    size_t n = 0;
    while (n < 300 && image[100 + n] == 0x22) ++n;
    for (size_t i = n; i < 300; ++i) ASSERT_EQ(image[100 + i], 0x11) << "seed " << seed;
    mid |= n > 0 && n < 300;
  }
  EXPECT_TRUE(mid);
}

TEST(PrefixPolicy, KeepsAPrefix) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    sim::PrngDecisions d(seed);
    PrefixPolicy p;
    p.BeginFile("db", 5, d);
    bool dropped = false;
    for (int i = 0; i < 5; ++i) {
      const bool kept = p.Survives(sim::PendingOp{}, d);
      EXPECT_FALSE(kept && dropped) << "seed " << seed;
      dropped |= !kept;
    }
  }
}

// Every built-in fault scenario: a few seeds pass on the real engine, their faults fire, and a seed
// replays to the same trace hash.
TEST(FaultScenarios, ShortCampaignsPassAndFire) {
  for (const sim::Scenario& s : AllScenarios()) {
    if (!s.faults) continue;
    std::map<std::string, uint64_t> fired;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      sim::SeedResult r = sim::RunSeed(s, seed);
      EXPECT_TRUE(r.pass) << s.name << " seed " << seed << ": " << r.message << " (" << r.config << ")";
      for (const sim::FamilyCount& c : r.fault_counts) fired[c.family] += c.fired;
    }
    uint64_t total = 0;
    for (const auto& [f, n] : fired) total += n;
    EXPECT_GT(total, 0u) << s.name << ": no fault fired in 12 seeds";
    sim::SeedResult a = sim::RunSeed(s, 7), b = sim::RunSeed(s, 7);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << s.name;
  }
}

}  // namespace
}  // namespace lsm::faults
