'use strict';
// Child process of benches/soak.bench.mjs: a steady, GC-heavy "service" (no leak) that
// runs for LEAKWATCH_SOAK_SECONDS and prints one JSON line of memory figures every
// LEAKWATCH_SOAK_SAMPLE_MS. leakwatch, when wanted, is preloaded by the bench exactly as
// `leakwatch run` does it (NODE_OPTIONS=--require register.js, LEAKWATCH_STATS_FILE), so
// this file never loads it itself.
const fs = require('node:fs');
const v8 = require('node:v8');

const SECONDS = Number(process.env.LEAKWATCH_SOAK_SECONDS || 270);
const SAMPLE_MS = Number(process.env.LEAKWATCH_SOAK_SAMPLE_MS || 5000);
const STATS = process.env.LEAKWATCH_STATS_FILE;

// A cache of ~20,000 entries of ~1 KB, entries replaced at random: old space fills with
// garbage and is collected by full GCs every few seconds; its live size stays flat.
const cache = new Array(20000).fill(null);
let sink = 0;
function request(i) {
  const body = { id: i, path: `/items/${i % 997}`, headers: { a: String(i), b: 'x'.repeat(16) }, items: [i, i + 1, i + 2] };
  sink += body.path.length + body.items.length;
  if (i % 4 === 0) cache[(i * 7919) % cache.length] = { i, payload: 'p'.repeat(900) + i, at: Date.now() };
}

/** /proc/self/status fields in bytes (kB there), and the thread count. */
function status() {
  const out = {};
  try {
    for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(VmRSS|RssAnon|RssFile|Threads):\s+(\d+)/.exec(line);
      if (m) out[m[1]] = m[1] === 'Threads' ? Number(m[2]) : Number(m[2]) * 1024;
    }
  } catch {
    // not Linux
  }
  return out;
}

function fileSize(name) {
  try {
    return fs.statSync(name).size;
  } catch {
    return 0;
  }
}

const started = Date.now();
function sample() {
  const mem = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { used: s.space_used_size, committed: s.physical_space_size };
  const st = status();
  process.stdout.write(
    JSON.stringify({
      t: Date.now() - started,
      rss: mem.rss,
      rssAnon: st.RssAnon,
      rssFile: st.RssFile,
      threads: st.Threads,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      malloced: heap.malloced_memory,
      spaces,
      statsBytes: STATS ? fileSize(STATS) + fileSize(`${STATS}.1`) : 0,
    }) + '\n',
  );
}

// Bursts of work (~20 ms) with pauses (~20 ms): about half a core.
let i = 0;
function burst() {
  const until = Date.now() + 20;
  while (Date.now() < until) for (let k = 0; k < 200; k++) request(i++);
  if (Date.now() - started < SECONDS * 1000) setTimeout(burst, 20);
  else {
    sample();
    clearInterval(timer);
  }
}
const timer = setInterval(sample, SAMPLE_MS);
sample();
burst();
process.on('exit', () => {
  if (sink === -1) console.log('unreachable');
});
