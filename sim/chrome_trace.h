// A run's trace as Chrome trace-event JSON (Perfetto, chrome://tracing): `lsmsim run --seed N --trace F`
// and `lsmsim replay R --trace F`. Time is the event's position in the run (1 µs per event; the Env step
// is in each event's args), so the picture is the order of events, not their cost. Tracks, per simulated
// process: its Env calls (read, write, sync, ... as spans with file, offset and length), and the
// workload (each operation a span until the next one begins: put, commit, flush, work = merges,
// checkpoint, reopen, crash) with recovery as a span from the power loss to the recovered database.
// Power losses, canaries, fault decisions, checks and the verdict are instant markers.
#pragma once

#include <string>
#include <vector>

#include "sim/json.h"
#include "sim/trace.h"

namespace lsm::sim {

Json ChromeTrace(const std::vector<TraceEvent>& events, const std::string& title);

}  // namespace lsm::sim
