#include "sim/chrome_trace.h"

#include <set>

#include "absl/strings/str_format.h"

namespace lsm::sim {
namespace {

// The trace's markers: everything the runner and SimEnv note that is not an Env call.
bool IsMarker(std::string_view kind) {
  static const std::set<std::string_view> kMarkers = {"config",    "start-from", "verdict", "power-loss", "power-loss-applied",
                                                      "canary",    "recovered",  "recovered-unjudged",
                                                      "recovery-refused", "reopened"};
  return kMarkers.count(kind) != 0 || kind.starts_with("fault");
}

constexpr int kWorkloadTrack = 0;  // per process; Env calls go on track 1

Json Event(const char* ph, const std::string& name, const char* cat, uint64_t ts, int process, int track) {
  Json e = Json::Object();
  e.Set("name", Json::String(name));
  e.Set("cat", Json::String(cat));
  e.Set("ph", Json::String(ph));
  e.Set("ts", Json::Uint(ts));
  e.Set("pid", Json::Int(process + 1));
  e.Set("tid", Json::Int(track));
  return e;
}

Json Args(const TraceEvent& e) {
  Json a = Json::Object();
  a.Set("step", Json::Uint(e.step));
  if (!e.file.empty()) a.Set("file", Json::String(e.file));
  if (e.offset != 0 || e.length != 0) {
    a.Set("offset", Json::Uint(e.offset));
    a.Set("length", Json::Uint(e.length));
  }
  if (e.content != 0) a.Set("content", Json::String(HashHex(e.content)));
  if (!e.detail.empty()) a.Set("detail", Json::String(e.detail));
  return a;
}

}  // namespace

Json ChromeTrace(const std::vector<TraceEvent>& events, const std::string& title) {
  Json out = Json::Array();
  std::set<int> processes;
  // The open workload span (an operation, or a recovery) of each process: its start and name.
  struct Open {
    bool open = false;
    uint64_t ts = 0;
    std::string name, detail;
    uint64_t step = 0;
  };
  std::vector<Open> spans;
  auto close = [&](int process, uint64_t ts) {
    Open& o = spans[size_t(process)];
    if (!o.open) return;
    Json e = Event("X", o.name, "workload", o.ts, process, kWorkloadTrack);
    e.Set("dur", Json::Uint(std::max<uint64_t>(ts - o.ts, 1)));
    Json a = Json::Object();
    a.Set("step", Json::Uint(o.step));
    if (!o.detail.empty()) a.Set("detail", Json::String(o.detail));
    e.Set("args", a);
    out.Push(e);
    o.open = false;
  };
  auto open = [&](int process, uint64_t ts, std::string name, const TraceEvent& ev) {
    close(process, ts);
    spans[size_t(process)] = Open{true, ts, std::move(name), ev.detail, ev.step};
  };
  for (size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& ev = events[i];
    const uint64_t ts = i;
    const int p = std::max(ev.process, 0);
    if (size_t(p) >= spans.size()) spans.resize(size_t(p) + 1);
    processes.insert(p);
    if (ev.kind == "op") {
      const std::string name = ev.detail.substr(0, ev.detail.find(' '));
      open(p, ts, name.empty() ? "op" : name, ev);
    } else if (IsMarker(ev.kind)) {
      Json e = Event("i", std::string(ev.kind), "sim", ts, p, kWorkloadTrack);
      e.Set("s", Json::String("p"));
      e.Set("args", Args(ev));
      out.Push(e);
      if (ev.kind == "power-loss") open(p, ts, "recovery", ev);
      if (ev.kind.starts_with("recover") || ev.kind == "verdict") close(p, ts);
    } else {
      Json e = Event("X", std::string(ev.kind), "env", ts, p, 1);
      e.Set("dur", Json::Uint(1));
      e.Set("args", Args(ev));
      out.Push(e);
    }
  }
  for (int p : processes) close(p, events.size());
  for (int p : processes) {
    for (int track : {kWorkloadTrack, 1}) {
      Json m = Event("M", "thread_name", "meta", 0, p, track);
      Json a = Json::Object();
      a.Set("name", Json::String(track == kWorkloadTrack ? "workload" : "Env calls"));
      m.Set("args", a);
      out.Push(m);
    }
    Json m = Event("M", "process_name", "meta", 0, p, 0);
    Json a = Json::Object();
    a.Set("name", Json::String(absl::StrFormat("%s: process %d", title, p)));
    m.Set("args", a);
    out.Push(m);
  }
  Json doc = Json::Object();
  doc.Set("traceEvents", out);
  doc.Set("displayTimeUnit", Json::String("ms"));
  return doc;
}

}  // namespace lsm::sim
