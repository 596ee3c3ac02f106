// Regression for an engine bug the io-error family found (faults-io seed 377 before the fix): a close
// whose Sync after the meta-page write failed leaves that checkpoint written but not durable; the
// next open trusted it, reused the log space it frees, and a power loss then took the checkpoint and
// the log records the durable one still needed. Recovery now syncs the database file first.
#include "engine/db.h"
#include "gtest/gtest.h"
#include "sim/sim_env.h"

namespace lsm::faults {
namespace {

// Fails the database file's next Sync after a meta-page write, once armed.
class FailMetaSync : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  bool armed = false;

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    auto f = EnvWrapper::Open(path, mode);
    if (!f.ok() || path != "db") return f;
    return std::unique_ptr<File>(new Handle(std::move(f).value(), this));
  }

 private:
  class Handle : public FileWrapper {
   public:
    Handle(std::unique_ptr<File> f, FailMetaSync* env) : FileWrapper(std::move(f)), env_(env) {}
    Status Write(uint64_t offset, std::span<const uint8_t> data) override {
      if (env_->armed && offset < 8192) meta_written_ = true;
      return FileWrapper::Write(offset, data);
    }
    Status Sync() override {
      if (meta_written_) {
        meta_written_ = false;
        env_->armed = false;
        return Status::IoError("db: sync failed (test)");
      }
      return FileWrapper::Sync();
    }

   private:
    FailMetaSync* env_;
    bool meta_written_ = false;
  };
};

TEST(RecoverySync, ReopenDoesNotTrustAnUnsyncedCheckpoint) {
  sim::SimEnv sim(nullptr, sim::SimEnv::Options{});
  FailMetaSync env(&sim);
  Options o;
  o.safety = Safety::kFull;
  o.page_size = 1024;
  o.block_size = 64 * 1024;
  auto put = [&](Db& db, uint8_t k, uint8_t v) { ASSERT_TRUE(db.Put(Bytes{k}, Bytes{v}).ok()); };
  {
    auto db = Db::Open(&env, "db", o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    put(**db, 1, 1);
    ASSERT_TRUE((*db)->Close().ok());  // checkpointed, log deleted
  }
  {
    auto db = Db::Open(&env, "db", o);
    ASSERT_TRUE(db.ok());
    put(**db, 2, 2);  // acknowledged: in the synced log
    env.armed = true;
    EXPECT_FALSE((*db)->Close().ok());  // its checkpoint is written, its Sync failed
  }
  {
    auto db = Db::Open(&env, "db", o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    put(**db, 3, 3);
    put(**db, 4, 4);
  }
  sim::DropUnsynced policy;
  sim::PrngDecisions d(1);
  sim.PowerLoss(policy, d);
  auto db = Db::Open(&env, "db", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (uint8_t k = 1; k <= 4; ++k) {
    auto got = (*db)->Get(Bytes{k});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(got->has_value()) << "acknowledged key " << int(k) << " lost";
  }
}

}  // namespace
}  // namespace lsm::faults
