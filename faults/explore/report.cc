#include "faults/explore/report.h"

#include <algorithm>
#include <map>
#include <cmath>
#include <set>

#include "absl/strings/str_format.h"
#include "sim/repro.h"

namespace lsm::faults {
namespace {

// site "FILE KIND PHASE" -> its phase
std::string PhaseOfSite(const std::string& site) { return site.substr(site.rfind(' ') + 1); }

uint64_t Sum(const std::map<std::string, uint64_t>& m) {
  uint64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

// (phase, variant) -> distinct states, and (recovery path, variant) -> distinct states.
struct Tables {
  std::map<std::string, std::map<std::string, uint64_t>> by_site, by_phase, by_path;
};

Tables Tabulate(const ExploreReport& r) {
  Tables t;
  for (const auto& [site, variants] : r.coverage) {
    for (const auto& [variant, paths] : variants) {
      t.by_site[site][variant] += Sum(paths);
      t.by_phase[PhaseOfSite(site)][variant] += Sum(paths);
      for (const auto& [path, n] : paths) t.by_path[path][variant] += n;
    }
  }
  return t;
}

std::vector<std::string> Unreached(const Tables& t) {
  std::vector<std::string> out;
  for (const std::string& phase : CoveragePhases()) {
    for (const std::string& variant : CoverageVariants()) {
      auto p = t.by_phase.find(phase);
      if (p == t.by_phase.end() || !p->second.count(variant)) out.push_back(phase + " x " + variant);
    }
  }
  for (const std::string& path : CoverageRecoveryPaths()) {
    if (!t.by_path.count(path)) out.push_back("recovery path \"" + path + "\"");
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Table(const std::map<std::string, std::map<std::string, uint64_t>>& rows, const char* first) {
  std::string out = absl::StrFormat("  %-40s", first);
  for (const std::string& v : CoverageVariants()) out += absl::StrFormat(" %8.8s", v);
  out += "\n";
  for (const auto& [row, cells] : rows) {
    out += absl::StrFormat("  %-40.40s", row);
    for (const std::string& v : CoverageVariants()) {
      auto c = cells.find(v);
      out += c == cells.end() ? absl::StrFormat(" %8s", ".") : absl::StrFormat(" %8u", c->second);
    }
    out += "\n";
  }
  return out;
}

}  // namespace

const std::vector<std::string>& CoveragePhases() {
  static const std::vector<std::string> phases = {"commit", "flush", "merge", "checkpoint", "read", "close", "recovery"};
  return phases;
}

const std::vector<std::string>& CoverageVariants() {
  static const std::vector<std::string> variants = {"drop-all",
                                                    "subset",
                                                    "torn",
                                                    "unlink undone",
                                                    "process",
                                                    "io-error",
                                                    "process, run on",
                                                    "torn-meta at write",
                                                    "torn-meta before sync",
                                                    "recovery-power drop-all",
                                                    "recovery-power keep-all",
                                                    "recovery-process"};
  return variants;
}

std::vector<std::string> CoverageRecoveryPaths() {
  std::vector<std::string> out;
  for (const char* page : {"1", "2", "none"}) {
    for (const char* log : {"0", "1-3", "4-15", "16+"}) {
      for (const char* merge : {"", ", merge resumed"}) {
        for (const char* overflow : {"", ", free-list overflow loaded"}) {
          out.push_back(absl::StrFormat("meta page %s, log replay %s%s%s", page, log, merge, overflow));
        }
      }
    }
  }
  return out;
}

std::string ExploreText(const ExploreReport& r) {
  std::string out = absl::StrFormat("explore: scenario %s, seed %u (%s)\n", r.scenario, r.seed, r.config);
  if (!r.error.empty()) return out + "  " + r.error + "\n";
  out += absl::StrFormat("  steps: %u recorded, %u covered (%u capped by --max_states_per_step)\n", r.steps_recorded,
                         r.steps_covered, r.steps_capped);
  out += absl::StrFormat("  states: %u explored, %u distinct (judged), %.0f distinct states/s, %.0f states/s, %.1f s\n",
                         r.states, r.distinct, r.seconds > 0 ? double(r.distinct) / r.seconds : 0.0,
                         r.seconds > 0 ? double(r.states) / r.seconds : 0.0, r.seconds);
  if (r.torn_meta_writes > 0) {
    out += absl::StrFormat("  torn meta pages: %u meta-page writes, %u states\n", r.torn_meta_writes, r.torn_meta_states);
  }
  if (r.io_error_states > 0) out += absl::StrFormat("  I/O error at every step: %u states (each a whole run)\n", r.io_error_states);
  if (r.run_on_states > 0) {
    out += absl::StrFormat("  process crash, run on, power loss: %u states (each a whole run)\n", r.run_on_states);
  }
  if (r.recovery_states > 0) out += absl::StrFormat("  crashes during recovery: %u states\n", r.recovery_states);
  out += absl::StrFormat("  failures: %u", r.failures.size());
  if (!r.failures.empty()) out += absl::StrFormat(" (the first judged after %.2f s)", r.first_failure_seconds);
  out += "\n";
  for (const ExploredState& f : r.failures) {
    out += absl::StrFormat("    FAIL %s at step %u (%s; %s): %s\n", f.explorer, f.step, f.site, f.variant, f.message);
  }
  const Tables t = Tabulate(r);
  out += "coverage (distinct states) by fault site (file, call, phase) and variant:\n" + Table(t.by_site, "site");
  out += "coverage by recovery path taken and variant:\n" + Table(t.by_path, "recovery path");
  const std::vector<std::string> unreached = Unreached(t);
  out += absl::StrFormat("never reached (%u of %u: %u phase x variant cells, %u recovery paths):\n", unreached.size(),
                         CoveragePhases().size() * CoverageVariants().size() + CoverageRecoveryPaths().size(),
                         CoveragePhases().size() * CoverageVariants().size(), CoverageRecoveryPaths().size());
  std::string line = " ";
  for (const std::string& u : unreached) {
    if (line.size() + u.size() > 110) {
      out += line + "\n";
      line = " ";
    }
    line += " " + u + ";";
  }
  if (line.size() > 1) out += line + "\n";
  return out;
}

Json ExploreJson(const ExploreReport& r, bool timings) {
  Json j = Json::Object();
  j.Set("lsmsim_explore", Json::Int(1));
  j.Set("scenario", Json::String(r.scenario));
  j.Set("seed", Json::Uint(r.seed));
  j.Set("config", Json::String(r.config));
  if (!r.error.empty()) j.Set("error", Json::String(r.error));
  j.Set("steps_recorded", Json::Uint(r.steps_recorded));
  j.Set("steps_covered", Json::Uint(r.steps_covered));
  j.Set("steps_capped", Json::Uint(r.steps_capped));
  j.Set("states", Json::Uint(r.states));
  j.Set("distinct_states", Json::Uint(r.distinct));
  j.Set("torn_meta_writes", Json::Uint(r.torn_meta_writes));
  j.Set("torn_meta_states", Json::Uint(r.torn_meta_states));
  j.Set("recovery_crash_states", Json::Uint(r.recovery_states));
  j.Set("io_error_states", Json::Uint(r.io_error_states));
  j.Set("run_on_states", Json::Uint(r.run_on_states));
  if (timings) {
    j.Set("seconds", Json::Double(r.seconds));
    if (!r.failures.empty()) j.Set("first_failure_seconds", Json::Double(r.first_failure_seconds));
    Json rate = Json::Array();
    for (const auto& [t, v] : r.rate) {
      Json p = Json::Array();
      p.Push(Json::Double(t));
      p.Push(Json::Double(v));
      rate.Push(p);
    }
    j.Set("distinct_states_per_second", rate);
  }
  Json failures = Json::Array();
  for (const ExploredState& f : r.failures) {
    Json o = Json::Object();
    o.Set("explorer", Json::String(f.explorer));
    o.Set("step", Json::Uint(f.step));
    o.Set("site", Json::String(f.site));
    o.Set("variant", Json::String(f.variant));
    o.Set("message", Json::String(f.message));
    o.Set("explore", sim::ExploreCrashJson(f.crash));
    failures.Push(o);
  }
  j.Set("failures", failures);
  Json coverage = Json::Array();
  for (const auto& [site, variants] : r.coverage) {
    for (const auto& [variant, paths] : variants) {
      for (const auto& [path, n] : paths) {
        Json c = Json::Object();
        c.Set("site", Json::String(site));
        c.Set("variant", Json::String(variant));
        c.Set("recovery_path", Json::String(path));
        c.Set("distinct_states", Json::Uint(n));
        coverage.Push(c);
      }
    }
  }
  j.Set("coverage", coverage);
  Json unreached = Json::Array();
  for (const std::string& u : Unreached(Tabulate(r))) unreached.Push(Json::String(u));
  j.Set("never_reached", unreached);
  return j;
}

std::string ExploreHtml(const ExploreReport& r) {
  const Tables t = Tabulate(r);
  uint64_t peak = 1;
  for (const auto& [row, cells] : t.by_site) {
    for (const auto& [v, n] : cells) peak = std::max(peak, n);
  }
  auto heat = [&](const std::map<std::string, std::map<std::string, uint64_t>>& rows, const char* first) {
    std::string out = "<table><tr><th>" + std::string(first) + "</th>";
    for (const std::string& v : CoverageVariants()) out += "<th>" + Escape(v) + "</th>";
    out += "</tr>\n";
    for (const auto& [row, cells] : rows) {
      out += "<tr><td class=row>" + Escape(row) + "</td>";
      for (const std::string& v : CoverageVariants()) {
        auto c = cells.find(v);
        if (c == cells.end()) {
          out += "<td class=none>&middot;</td>";
          continue;
        }
        // Log scale: a cell of 1 state is pale, the peak is full.
        const double x = std::log1p(double(c->second)) / std::log1p(double(peak));
        out += absl::StrFormat("<td style=\"background:rgba(200,60,30,%.2f)\">%u</td>", 0.12 + 0.88 * std::min(1.0, x),
                               c->second);
      }
      out += "</tr>\n";
    }
    return out + "</table>\n";
  };
  std::string rate_svg;
  if (!r.rate.empty()) {
    double tmax = 0, vmax = 1;
    for (const auto& [tt, v] : r.rate) {
      tmax = std::max(tmax, tt);
      vmax = std::max(vmax, v);
    }
    std::string points;
    for (const auto& [tt, v] : r.rate) points += absl::StrFormat("%.1f,%.1f ", 40 + 560 * tt / std::max(tmax, 1e-9), 190 - 170 * v / vmax);
    rate_svg = absl::StrFormat(
        "<svg width=620 height=210 viewBox=\"0 0 620 210\"><rect x=40 y=20 width=560 height=170 fill=#f7f7f7 />"
        "<polyline fill=none stroke=#c83c1e stroke-width=2 points=\"%s\" />"
        "<text x=4 y=24 font-size=11>%.0f/s</text><text x=4 y=190 font-size=11>0</text>"
        "<text x=560 y=205 font-size=11>%.1f s</text></svg>\n",
        points, vmax, tmax);
  }
  std::string failures;
  for (const ExploredState& f : r.failures) {
    failures += absl::StrFormat("<li><b>%s</b> at step %u (%s; %s): %s</li>\n", Escape(f.explorer), f.step, Escape(f.site),
                                Escape(f.variant), Escape(f.message));
  }
  std::string unreached;
  for (const std::string& u : Unreached(t)) unreached += "<li>" + Escape(u) + "</li>";
  return absl::StrFormat(
      "<!doctype html><html><head><meta charset=utf-8><title>lsmsim explore: %s seed %u</title><style>"
      "body{font:14px sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
      "td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;font-size:12px}td.row{text-align:left}"
      "td.none{color:#bbb}th{background:#eee}ul.unreached{columns:3;font-size:12px}</style></head><body>"
      "<h1>lsmsim explore: scenario %s, seed %u</h1><p>%s</p>"
      "<p>%u steps recorded, %u covered; %u states explored, %u distinct (judged); %u failures; %.1f s.</p>"
      "<h2>Failures</h2><ul>%s</ul>"
      "<h2>Coverage: fault site &times; variant (distinct states)</h2>%s"
      "<h2>Coverage: recovery path &times; variant</h2>%s"
      "<h2>Distinct states per second</h2>%s"
      "<h2>Never reached</h2><ul class=unreached>%s</ul></body></html>\n",
      Escape(r.scenario), r.seed, Escape(r.scenario), r.seed, Escape(r.config), r.steps_recorded, r.steps_covered,
      r.states, r.distinct, r.failures.size(), r.seconds, failures.empty() ? "<li>none</li>" : failures,
      heat(t.by_site, "site"), heat(t.by_path, "recovery path"), rate_svg.empty() ? "<p>(too short to sample)</p>" : rate_svg,
      unreached);
}

}  // namespace lsm::faults
