// Scenarios that start from a database file (start_image.h): the engine's reading of every golden
// database against its expected.tsv, path resolution, the content in the trace hash, bad values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/tests/db/golden_files.h"
#include "sim/json.h"
#include "sim/runner.h"
#include "sim/scenario.h"
#include "sim/sim_env.h"

namespace lsm::sim {
namespace {

namespace fs = std::filesystem;

Result<Scenario> Parse(const std::string& text, const std::string& base_dir = "") {
  auto j = ParseJson(text);
  if (!j.ok()) return j.status();
  return ScenarioFromJson(*j, base_dir);
}

Oracle::Map ReadListing(const fs::path& path) {
  Oracle::Map out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    Bytes k, v;
    const size_t tab = line.find('\t');
    EXPECT_TRUE(tab != std::string::npos && FromHex(line.substr(0, tab), &k) && FromHex(line.substr(tab + 1), &v)) << line;
    out[k] = v;
  }
  return out;
}

// A fresh directory under the test's temporary directory.
fs::path TempDir(const std::string& name) {
  fs::path d = fs::path(::testing::TempDir()) / ("start_from_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Parameter: the golden stem (NAME.expected.tsv); the database is NAME.db, or NAME.crash.db with its log.
class GoldenStartTest : public ::testing::TestWithParam<std::string> {};

// The model a golden scenario starts from is the engine's reading of the file; it must be exactly what
// SQLite4 LSM wrote (read here independently of the scenario's own start_expected check).
TEST_P(GoldenStartTest, ModelIsTheExpectedListing) {
  const std::string stem = GetParam();
  const std::string file = stem + (stem == "pub_replay_1k" ? ".crash.db" : ".db");
  auto s = Parse(std::string(R"({"start_from": "golden:db/)") + file + "\"}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(s->start);
  ASSERT_TRUE(s->start->engine_read.ok()) << s->start->engine_read.ToString();
  const Oracle::Map expected = ReadListing(lsm::testing::GoldenDir() / "db" / (stem + ".expected.tsv"));
  EXPECT_EQ(s->start->state.map.size(), expected.size());
  EXPECT_TRUE(s->start->state.map == expected) << Oracle::Difference(expected, s->start->state.map);
  EXPECT_EQ(s->start->keys.size(), expected.size());
  // The geometry is the file's.
  EXPECT_EQ(s->page_size, std::vector<uint32_t>{s->start->page_size});
  EXPECT_EQ(s->block_size, s->start->block_size);
}

INSTANTIATE_TEST_SUITE_P(
    Golden, GoldenStartTest,
    ::testing::Values("pub_tiny_4k", "pub_small_1k", "pub_bigval_4k", "pub_replay_1k", "pub_moved_1k", "pub_inprogress_1k"),
    [](const auto& info) { return info.param; });

TEST(StartFromTest, RelativePathsResolveAgainstTheScenarioFile) {
  const fs::path d = TempDir("relative");
  fs::copy_file(lsm::testing::GoldenDir() / "db/pub_tiny_4k.db", d / "tiny.db");
  fs::copy_file(lsm::testing::GoldenDir() / "db/pub_tiny_4k.expected.tsv", d / "tiny.tsv");
  std::ofstream(d / "s.json") << R"({"name": "rel", "start_from": "tiny.db", "start_expected": "tiny.tsv", "ops": 50})";
  auto s = LoadScenario((d / "s.json").string());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->start_from, fs::absolute(d / "tiny.db").lexically_normal().string());
  ASSERT_TRUE(s->start->expected_check.ok()) << s->start->expected_check.ToString();
  EXPECT_FALSE(s->start->log.has_value());
  // The JSON (a repro file's scenario) names the resolved paths and loads again from anywhere.
  auto again = ScenarioFromJson(s->ToJson(), "/");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ToJson().Dump(), s->ToJson().Dump());
}

TEST(StartFromTest, TheLogBesideTheFileIsLoaded) {
  auto s = Parse(R"({"start_from": "golden:db/pub_replay_1k.crash.db"})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(s->start->log.has_value());
  EXPECT_GT(s->start->log->size(), 0u);
}

TEST(StartFromTest, SeedsPassAndTheFileContentIsInTheTraceHash) {
  const fs::path d = TempDir("hash");
  fs::copy_file(lsm::testing::GoldenDir() / "db/pub_tiny_4k.db", d / "tiny.db");
  const std::string text = R"({"name": "h", "start_from": "tiny.db", "ops": 100})";
  auto s = Parse(text, d.string());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  SeedResult a = RunSeed(*s, 3), b = RunSeed(*s, 3);
  EXPECT_TRUE(a.pass) << a.message;
  EXPECT_GT(a.crashes, 0u);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  // A byte more at the end of the file: nothing the engine reads, but another starting image.
  std::ofstream(d / "tiny.db", std::ios::binary | std::ios::app).put('\0');
  auto changed = Parse(text, d.string());
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_NE(changed->start->hash, s->start->hash);
  EXPECT_NE(RunSeed(*changed, 3).trace_hash, a.trace_hash);
}

TEST(StartFromTest, AMismatchingListingFailsEverySeedNamingTheKey) {
  const fs::path d = TempDir("listing");
  std::ifstream in(lsm::testing::GoldenDir() / "db/pub_tiny_4k.expected.tsv");
  std::stringstream all;
  all << in.rdbuf();
  std::string listing = all.str();
  listing.erase(0, listing.find('\n') + 1);  // drop the first key
  std::ofstream(d / "short.tsv") << listing;
  auto s = Parse(R"({"start_from": "golden:db/pub_tiny_4k.db", "start_expected": "short.tsv"})", d.string());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  SeedResult r = RunSeed(*s, 1);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.message.find("the engine returns key 6b30303030303030"), std::string::npos) << r.message;
}

TEST(StartFromTest, BadValuesNameTheFieldAndTheFile) {
  const fs::path d = TempDir("bad");
  std::ofstream(d / "zeros.db", std::ios::binary) << std::string(8192, '\0');
  std::ofstream(d / "bad.tsv") << "6b\tzz\n";
  auto message = [&](const std::string& text) {
    auto s = Parse(text, d.string());
    return s.ok() ? std::string("ok") : s.status().message();
  };
  EXPECT_NE(message(R"({"start_from": "missing.db"})").find("\"start_from\": " + (d / "missing.db").string() + ": no such file"),
            std::string::npos);
  EXPECT_NE(message(R"({"start_from": "zeros.db"})").find("is not a database (neither meta page"), std::string::npos);
  EXPECT_NE(message(R"({"start_from": "golden:db/README.md"})").find("\"start_from\""), std::string::npos);
  EXPECT_NE(message(R"({"start_from": "."})").find("not a regular file"), std::string::npos);
  EXPECT_NE(message(R"({"start_from": 3})").find("\"start_from\": expected"), std::string::npos);
  EXPECT_NE(message(R"({"start_expected": "bad.tsv"})").find("\"start_expected\": needs start_from"), std::string::npos);
  EXPECT_NE(message(R"({"start_from": "golden:db/pub_tiny_4k.db", "start_expected": "bad.tsv"})").find("bad.tsv line 1"),
            std::string::npos);
  EXPECT_NE(message(R"({"start_from": "golden:db/pub_tiny_4k.db", "page_size": [4096, 1024]})")
                .find("\"page_size\": 1024 conflicts with the file"),
            std::string::npos);
  EXPECT_NE(message(R"({"start_from": "golden:db/pub_tiny_4k.db", "block_size": 65536})").find("\"block_size\": 65536 conflicts"),
            std::string::npos);
  EXPECT_EQ(message(R"({"start_from": "golden:db/pub_tiny_4k.db", "page_size": [4096], "block_size": 1048576})"), "ok");
}

TEST(ScenarioAuditTest, ValuesTheEngineRefusesAreScenarioErrors) {
  auto field = [](const std::string& text, const std::string& name) {
    auto s = Parse(text);
    if (s.ok()) return std::string("accepted");
    return s.status().message().find("\"" + name + "\"") != std::string::npos ? std::string("named")
                                                                                : s.status().message();
  };
  EXPECT_EQ(field(R"({"autoflush_kb": [4294967295]})", "autoflush_kb"), "named");
  EXPECT_EQ(field(R"({"autoflush_kb": [1048577]})", "autoflush_kb"), "named");
  EXPECT_EQ(field(R"({"autoflush_kb": [1048576]})", "autoflush_kb"), "accepted");
  EXPECT_EQ(field(R"({"page_size": [768]})", "page_size"), "named");
  EXPECT_EQ(field(R"({"page_size": [128]})", "page_size"), "named");
  EXPECT_EQ(field(R"({"page_size": [65536]})", "page_size"), "named");  // one page per 64 KB block
  EXPECT_EQ(field(R"({"block_size": 100000})", "block_size"), "named");
  EXPECT_EQ(field(R"({"automerge": [1]})", "automerge"), "named");
  EXPECT_EQ(field(R"({"max_freelist": 1})", "max_freelist"), "named");
  EXPECT_EQ(field(R"({"sector_size": 3})", "sector_size"), "named");
  EXPECT_EQ(field(R"({"sector_size": 0})", "sector_size"), "named");
  EXPECT_EQ(field(R"({"name": "../x"})", "name"), "named");
  EXPECT_EQ(field(R"({"name": ""})", "name"), "named");
  EXPECT_EQ(field(R"({"weights": {"put": 0, "erase": 0, "erase_range": 0, "get": 0, "scan": 0, "begin": 0,
      "commit": 0, "rollback": 0, "flush": 0, "work": 0, "checkpoint": 0, "reopen": 0, "crash": 0,
      "user_version": 0}})", "weights"), "named");
  EXPECT_EQ(field(R"({"crash_window": 0})", "crash_window"), "named");
}

}  // namespace
}  // namespace lsm::sim
