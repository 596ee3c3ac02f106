// Every golden meta page decodes to the JSON expected.jsonl gives for it: each expected field is
// present in our report with the same value (the report may carry extra fields).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "engine/tests/db/golden_files.h"
#include "sim/checkpoint_json.h"

namespace lsm {
namespace {

using testing::GoldenDir;
using testing::ReadGolden;

TEST(CheckpointGoldenTest, EveryPageDecodesToItsExpectedJson) {
  std::ifstream in(GoldenDir() / "ckpt" / "expected.jsonl");
  ASSERT_TRUE(in) << "missing " << (GoldenDir() / "ckpt" / "expected.jsonl");
  std::string line;
  int pages = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto expected = ParseJson(line);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    const std::string* file = expected->Find("file")->AsString();
    ASSERT_NE(file, nullptr);
    Json report = MetaPageReport(ReadGolden(GoldenDir() / "ckpt" / *file));
    for (const auto& [key, value] : expected->items()) {
      if (key == "file") continue;
      const Json* ours = report.Find(key);
      ASSERT_NE(ours, nullptr) << *file << ": missing field " << key;
      EXPECT_EQ(ours->Dump(), value.Dump()) << *file << ": field " << key;
    }
    ++pages;
  }
  EXPECT_EQ(pages, 10);
}

TEST(CheckpointGoldenTest, JsonRoundTripGivesBackTheBlob) {
  for (const auto& entry : std::filesystem::directory_iterator(GoldenDir() / "ckpt")) {
    if (entry.path().extension() != ".bin") continue;
    Bytes page = ReadGolden(entry.path());
    auto c = DecodeCheckpoint(page);
    if (!c.ok()) continue;
    auto json = ParseJson(MetaPageReport(page).Dump());
    ASSERT_TRUE(json.ok());
    auto back = CheckpointFromJson(*json);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, *c) << entry.path();
  }
}

TEST(CheckpointGoldenTest, BadJsonNamesThePath) {
  auto json = ParseJson(R"({"id":1,"cmpid":1,"nblock":4,"blksz":65536,"pgsz":1024,"nwrite":0,
      "log":{"offset":0,"cksum0":0,"cksum1":0},"append":[0,0,0,0],
      "levels":[{"age":0,"flags":0,"lhs":[9,10,0],"rhs":[]}],"redirects":[],"freelist":[]})");
  ASSERT_TRUE(json.ok());
  auto c = CheckpointFromJson(*json);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "levels[0].lhs: expected 4 items");
  EXPECT_EQ(ParseJson("{\"a\":[1,}").status().message().substr(0, 10), "1:9: JSON:");
}

}  // namespace
}  // namespace lsm
