#include "faults/catalogue.h"

namespace lsm::faults {

using sim::OracleKind;

const std::vector<Entry>& Catalogue() {
  static const std::vector<Entry> all = {
      {Family::kPowerLoss, "power-loss",
       "the machine dies at step k; each pending operation is then dropped or kept whole (drop-unsynced / "
       "keep-random-subset), in any order",
       "any Env call after a crash operation (within crash_window steps), in every engine phase", true,
       OracleKind::kFull, "full oracle: every promise of the safety mode kept, the newest valid checkpoint opened",
       "weight of this policy among the active crash policies", 10000},
      {Family::kPrefix, "prefix",
       "at a power loss each file's pending operations survive in issue order up to a cut drawn per file "
       "(a device that writes its queue in order)",
       "every power loss where it is the drawn policy", true, OracleKind::kFull, "full oracle",
       "weight of this policy among the active crash policies", 10000},
      {Family::kTorn, "torn",
       "at a power loss each pending write is dropped, applied, or torn: each sector (512 or 4096 bytes, per "
       "seed) keeps its old bytes, takes the new ones, or holds garbage or zeros",
       "every power loss where it is the drawn policy; any file, any write", true, OracleKind::kFull,
       "full oracle: the contract's own words (env.h: a tear is per sector), so FULL keeps every acknowledged commit",
       "weight of this policy among the active crash policies", 10000},
      {Family::kByteTear, "byte-tear",
       "at a power loss a pending write is torn at any byte: the new prefix, the old rest (sector atomicity "
       "broken)",
       "every power loss where it is the drawn policy; any write", false, OracleKind::kOlderState,
       "a valid older state (a commit boundary, or only pairs somebody wrote) or a clean corruption error",
       "weight of this policy among the active crash policies", 5000},
      {Family::kTornMeta, "torn-meta",
       "a power loss lands on a meta-page write (at the write, at the sync after it, or just after): the torn "
       "policy then tears that page, whichever of the two it is",
       "writes to the database file's first 8192 bytes (both meta pages), in every phase of a checkpoint", true,
       OracleKind::kFull, "checkpoint oracle (the newest valid meta page is opened) + full oracle",
       "chance per meta-page write that the power fails there", 5000},
      {Family::kProcessCrash, "process-crash",
       "the process dies at step k instead of the machine: its writes stay pending (the kernel has them), its "
       "locks are released, shared memory survives; the database is reopened without a power loss (one may "
       "follow later)",
       "any Env call after a crash operation, and a Sync with writes pending (at a tenth of the rate per Sync): "
       "the process dies before it, so the reopen sees writes a power loss would still take",
       true, OracleKind::kFull,
       "full oracle: a commit boundary at or after the promised one; later power losses still owe every promise",
       "chance that a crash is a process crash", 3000},
      {Family::kRecoveryCrash, "recovery-crash",
       "a power loss or process crash at any step of the Open that recovers, repeatedly (up to 3 crashes in "
       "one chain)",
       "the Env calls of recovery (Db::Open after a crash)", true, OracleKind::kFull,
       "the same oracle as for the first crash alone", "chance per recovery of a crash during it", 3000},
      {Family::kLyingSync, "lying-sync",
       "Sync reports success and makes nothing durable: one call, one file for the whole run, or every file "
       "for the whole run (drawn per seed)",
       "Sync of any file", false, OracleKind::kOlderState,
       "a valid older state or a clean error; never a crash, a hang or bytes nobody wrote",
       "chance per Sync in one-call mode", 300},
      {Family::kLostWrite, "lost-write", "a Write reports success and never happens", "Write of any file", false,
       OracleKind::kOlderState, "a valid older state or a clean error; never a crash, a hang or bytes nobody wrote",
       "chance per Write", 20},
      {Family::kMisdirectedWrite, "misdirected-write",
       "a Write lands at another sector-aligned offset of the same file (inside its current size); the "
       "intended place keeps its old bytes",
       "Write of any file", false, OracleKind::kOlderState,
       "a valid older state or a clean error; the report records whether the engine noticed (an error)",
       "chance per Write", 20},
      {Family::kBitRot, "bit-rot", "one bit flips in a durable sector between runs (after a power loss)",
       "the database file (meta pages, segment pages) or the log, at rest", false, OracleKind::kOlderState,
       "a valid older state or a clean error (the canary is its strict cousin)", "chance per power loss", 3000},
      {Family::kLatentReadError, "latent-read-error",
       "every Read overlapping one sector of the database file fails with kIoError, persistently (until the "
       "database is reopened after the error: the sector is remapped)",
       "Read of the database file, from a power loss on", true, OracleKind::kFull,
       "a clean error naming the file and offset; after the reopen nothing is lost (full oracle)",
       "chance per power loss that a durable sector goes bad", 2000},
      {Family::kIoError, "io-error",
       "kIoError from one call (transient) or from every call of that kind on that file until the reopen "
       "(persistent), on Read, Write, Sync, Truncate, Size, Open, Unlink or Exists; a failed Sync may also drop "
       "the file's unsynced pages",
       "any such call outside recovery", true, OracleKind::kFull,
       "the call fails cleanly; no commit acknowledged beyond what is durable; after a failed Sync nothing "
       "unsynced is assumed durable; the database is reopened and every promised commit is there",
       "chance per call", 20},
      {Family::kNoSpace, "enospc", "a Write that extends its file fails with kIoError (no space left on device)",
       "Write past the end of any file, outside recovery", true, OracleKind::kFull,
       "as io-error: a clean failure, and after the reopen every promised commit is there",
       "chance per extending Write", 100},
  };
  return all;
}

const Entry& EntryOf(Family f) { return Catalogue()[size_t(f)]; }

std::optional<Family> FamilyNamed(const std::string& name) {
  for (const Entry& e : Catalogue()) {
    if (name == e.name) return e.family;
  }
  return std::nullopt;
}

}  // namespace lsm::faults
