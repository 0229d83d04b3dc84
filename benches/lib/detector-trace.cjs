'use strict';
// A development aid, preloaded before leakwatch (`node -r benches/lib/detector-trace.cjs -r
// leakwatch/register app.js`, or by the detection bench with LEAKWATCH_BENCH_TRACES=<dir>):
// every call the agent makes into the core's leak monitor (the binding's Monitor: GC tallies,
// full-GC figures, the survival reading of each settled sampler read, probe questions) is
// written, with its arguments and verdicts, as one JSON line to $LEAKWATCH_DETECTOR_TRACE. A
// trace replays through the detector as it is now, in a second, with
// `cargo run --release -p leakwatch-core --example replay -- <trace.jsonl>...`
// (crates/core/examples/replay.rs): the detector's rules are tuned on real processes' inputs,
// not on one live run at a time. Not part of the package's API.
const fs = require('node:fs');
const path = require('node:path');
const native = require(path.join(__dirname, '..', '..', 'lib', 'shared', 'native'));

const out = process.env.LEAKWATCH_DETECTOR_TRACE;
if (out) {
  const fd = fs.openSync(out, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
  const write = (record) => fs.writeSync(fd, `${JSON.stringify(record)}\n`);
  // Verdicts without their sites: the replay judges, it does not name.
  const bare = (leaks) => leaks.map(({ sites, ...leak }) => leak);
  const proto = native.Monitor.prototype;
  for (const name of ['configure', 'recordGcs', 'recordFullGc', 'shouldProbe', 'takeResolutions']) {
    const call = proto[name];
    proto[name] = function traced(...args) {
      const result = call.apply(this, args);
      if (name === 'takeResolutions') {
        if (result.length) write({ m: name, r: result });
      } else {
        write({ m: name, a: args, r: name === 'recordFullGc' ? { leaks: bare(result.leaks) } : result });
      }
      return result;
    };
  }
  // A settled read of the sampler is judged in Rust on the cohorts' survival: recorded as
  // the reading the detector took (replayed through Monitor::observe_survival).
  for (const name of ['ingestNative', 'ingestProfile']) {
    const call = proto[name];
    proto[name] = function traced(...args) {
      const result = call.apply(this, args);
      const settled = args[args.length - 1];
      if (settled && result) write({ m: 'observeSurvival', a: [this.survival(args[args.length - 2])], r: bare(result.leaks) });
      return result;
    };
  }
  const Untraced = native.Monitor;
  native.Monitor = class TracedMonitor extends Untraced {
    constructor(options, startMs) {
      super(options, startMs);
      write({ m: 'new', a: [options, startMs] });
    }
  };
}
