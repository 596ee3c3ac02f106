#include "sim/shrink.h"

#include <algorithm>
#include <cctype>

namespace lsm::sim {

std::string FailureKind(const std::string& message) {
  std::string m = message;
  if (m.rfind("op ", 0) == 0) {
    const size_t colon = m.find(": ");
    if (colon != std::string::npos) m = m.substr(colon + 2);
  }
  m = m.substr(0, m.find(':'));
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    out += std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); }) ? "#" : word;
    word.clear();
  };
  for (char c : m) {
    if (c == ' ') {
      flush();
      out += ' ';
    } else {
      word += c;
    }
  }
  flush();
  return out;
}

namespace {

class Shrinker {
 public:
  Shrinker(const Scenario& s, uint64_t seed, uint64_t max_runs) : scenario_(s), seed_(seed), max_runs_(max_runs) {}

  Result<ShrinkResult> Run(const std::vector<uint64_t>& decisions) {
    ShrinkResult out;
    out.before = Simulate(scenario_, decisions);
    if (out.before.pass) return Status::InvalidArgument("the decisions do not fail: nothing to shrink");
    out.kind = kind_ = FailureKind(out.before.message);
    best_ = out.before;
    // 1. Nothing after the failing operation matters.
    if (best_.op_starts.size() < scenario_.ops) {
      Scenario cut = scenario_;
      cut.ops = uint32_t(std::max<size_t>(best_.op_starts.size(), 1));
      Try(cut, best_.decisions);
    }
    // 2 and 3, until none helps.
    for (bool progress = true; progress && Budget();) {
      progress = RemoveOperations();
      progress |= ZeroDecisions();
      if (!progress) progress = HalveDecisions();
    }
    // 4. The replay pads with zeros, so the trimmed stream is the same run.
    out.scenario = scenario_;
    out.after = best_;
    while (!out.after.decisions.empty() && out.after.decisions.back() == 0) out.after.decisions.pop_back();
    out.runs = runs_;
    return out;
  }

 private:
  bool Budget() const { return runs_ < max_runs_; }

  SeedResult Simulate(const Scenario& s, const std::vector<uint64_t>& decisions) {
    ++runs_;
    return ReplaySeed(s, seed_, decisions);
  }

  // Runs the candidate and keeps it if it fails the same way.
  bool Try(const Scenario& s, const std::vector<uint64_t>& decisions) {
    if (!Budget()) return false;
    SeedResult r = Simulate(s, decisions);
    if (r.pass || FailureKind(r.message) != kind_) return false;
    scenario_ = s;
    // A candidate may fail earlier than its op count: the ops after the failure are dead weight.
    scenario_.ops = uint32_t(std::max<size_t>(std::min<size_t>(r.op_starts.size(), s.ops), 1));
    best_ = std::move(r);
    return true;
  }

  // ddmin over operations: chunks of ops whose decisions are cut out of the stream.
  bool RemoveOperations() {
    bool any = false;
    size_t parts = 2;
    while (Budget()) {
      const size_t nops = best_.op_starts.size();
      if (nops <= 1) break;
      parts = std::min(parts, nops);
      const size_t chunk = (nops + parts - 1) / parts;
      bool removed = false;
      for (size_t first = 0; first < nops && Budget(); first += chunk) {
        const size_t end_op = std::min(first + chunk, nops);
        const size_t from = best_.op_starts[first];
        const size_t to = end_op < nops ? best_.op_starts[end_op] : best_.decisions.size();
        std::vector<uint64_t> d(best_.decisions.begin(), best_.decisions.begin() + ptrdiff_t(from));
        d.insert(d.end(), best_.decisions.begin() + ptrdiff_t(to), best_.decisions.end());
        Scenario s = scenario_;
        s.ops = uint32_t(std::max<size_t>(nops - (end_op - first), 1));
        if (Try(s, d)) {
          removed = any = true;
          break;
        }
      }
      if (removed) {
        parts = std::max<size_t>(parts - 1, 2);
      } else if (chunk == 1) {
        break;
      } else {
        parts *= 2;
      }
    }
    return any;
  }

  // Chunks of decisions set to 0, halving the chunk down to single values.
  bool ZeroDecisions() {
    bool any = false;
    for (size_t chunk = std::max<size_t>(best_.decisions.size() / 2, 1); Budget(); chunk /= 2) {
      for (size_t first = 0; first < best_.decisions.size() && Budget(); first += chunk) {
        const size_t end = std::min(first + chunk, best_.decisions.size());
        if (std::all_of(best_.decisions.begin() + ptrdiff_t(first), best_.decisions.begin() + ptrdiff_t(end),
                        [](uint64_t v) { return v == 0; })) {
          continue;
        }
        std::vector<uint64_t> d = best_.decisions;
        std::fill(d.begin() + ptrdiff_t(first), d.begin() + ptrdiff_t(end), 0);
        any |= Try(scenario_, d);
      }
      if (chunk == 1) break;
    }
    return any;
  }

  // Each value that zero would not take, halved instead (a smaller key, value or count), one at a time.
  bool HalveDecisions() {
    bool any = false;
    for (size_t i = 0; i < best_.decisions.size() && Budget(); ++i) {
      if (best_.decisions[i] < 2) continue;
      std::vector<uint64_t> d = best_.decisions;
      d[i] /= 2;
      any |= Try(scenario_, d);
    }
    return any;
  }

  Scenario scenario_;
  uint64_t seed_;
  uint64_t max_runs_;
  uint64_t runs_ = 0;
  std::string kind_;
  SeedResult best_;
};

}  // namespace

Result<ShrinkResult> Shrink(const Scenario& scenario, uint64_t seed, const std::vector<uint64_t>& decisions,
                            uint64_t max_runs) {
  Shrinker shrinker(scenario, seed, max_runs);
  return shrinker.Run(decisions);
}

}  // namespace lsm::sim
