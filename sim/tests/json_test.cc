// sim/json: nlohmann-json reads and writes; our value type adds positions and exact number text.
#include "sim/json.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/tests/db/golden_files.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace lsm {
namespace {

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JsonTest, ValuesKnowWhereTheyStart) {
  auto j = ParseJson("{\"a\": 12,\n  \"b\": [true, {\"c\": \"x\"}, -3],\n\"d\":null}");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->line(), 1u);
  EXPECT_EQ(j->column(), 1u);
  const Json* a = j->Find("a");
  EXPECT_EQ(a->line(), 1u);
  EXPECT_EQ(a->column(), 7u);
  const Json* b = j->Find("b");
  EXPECT_EQ(b->line(), 2u);
  EXPECT_EQ(b->column(), 8u);
  EXPECT_EQ((*b)[0].column(), 9u);
  EXPECT_EQ((*b)[1].column(), 15u);
  EXPECT_EQ((*b)[1].Find("c")->column(), 21u);
  EXPECT_EQ((*b)[2].column(), 27u);  // after an object, not a number's look-ahead
  EXPECT_EQ(j->Find("d")->line(), 3u);
  EXPECT_EQ(j->Find("d")->column(), 5u);
}

TEST(JsonTest, NumbersAfterNumbersKeepTheirColumns) {
  auto j = ParseJson("[1,22 ,333, 4444]");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)[0].column(), 2u);
  EXPECT_EQ((*j)[1].column(), 4u);
  EXPECT_EQ((*j)[2].column(), 8u);
  EXPECT_EQ((*j)[3].column(), 13u);
}

TEST(JsonTest, SixtyFourBitNumbersRoundTripExactly) {
  auto j = ParseJson("[18446744073709551615,-9223372036854775808,1.5e3,0]");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)[0].AsUint64(), uint64_t(18446744073709551615ull));
  EXPECT_EQ((*j)[1].AsInt64(), INT64_MIN);
  EXPECT_EQ((*j)[2].AsDouble(), 1500.0);
  EXPECT_EQ(j->Dump(), "[18446744073709551615,-9223372036854775808,1500.0,0]");
}

TEST(JsonTest, BadDocumentsSayWhereAndWhat) {
  EXPECT_EQ(ParseJson("{\"a\":[1,}").status().message(),
            "1:9: JSON: syntax error while parsing value - unexpected '}'; expected '[', '{', or a literal (byte 8)");
  EXPECT_EQ(ParseJson("[1]\n x").status().message().substr(0, 10), "2:2: JSON:");
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("\"\x01\"").ok());  // a control character in a string
}

TEST(JsonTest, NestingBeyondTheLimitIsRefusedNotRecursedInto) {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
  const std::string deep = std::string(100000, '[');
  auto j = ParseJson(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().message(), "1:65: JSON: at most 64 levels of nesting (byte 64)");
}

// Strings are UTF-8 (JSON's own rule): any ASCII, control characters, quotes and backslashes included,
// and multi-byte characters.
TEST(JsonTest, DumpThenParseIsTheIdentity) {
  EXPECT_TRUE(rc::check("Dump then ParseJson gives the same value", [] {
    const auto text = rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
        rc::gen::container<std::string>(rc::gen::inRange<char>(0, 127)),
        rc::gen::element<std::string>("\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80")));
    const std::vector<std::string> keys = *text;
    const std::vector<int64_t> numbers = *rc::gen::arbitrary<std::vector<int64_t>>();
    Json o = Json::Object();
    Json a = Json::Array();
    for (int64_t n : numbers) a.Push(Json::Int(n));
    for (const std::string& k : keys) o.Set(k, Json::String(k + k));
    o.Set("numbers", a);
    o.Set("flag", Json::Bool(keys.size() % 2 == 0));
    auto back = ParseJson(o.Dump());
    RC_ASSERT(back.ok());
    RC_ASSERT(back->Dump() == o.Dump());
    for (const std::string& k : keys) RC_ASSERT(*back->Find(k)->AsString() == k + k);
  }));
}

// Every JSON file the project keeps (scenarios, regressions) and every golden expectation parses.
TEST(JsonTest, EveryCommittedFileParses) {
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(LSMSIM_SOURCE_DIR "/scenarios")) {
    if (e.path().extension() != ".json") continue;
    auto j = ParseJson(ReadText(e.path()));
    EXPECT_TRUE(j.ok()) << e.path() << ": " << j.status().ToString();
    ++files;
  }
  EXPECT_GE(files, 10u);
  size_t lines = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(testing::GoldenDir())) {
    if (e.path().extension() != ".jsonl") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = ParseJson(line);
      EXPECT_TRUE(j.ok()) << e.path() << ": " << j.status().ToString();
      ++lines;
    }
  }
  EXPECT_GT(lines, 0u);
}

}  // namespace
}  // namespace lsm
