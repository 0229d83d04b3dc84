'use strict';
// Target process for signal-latency.bench.mjs: builds a heap of about TARGET_MB (default
// 100) megabytes of small live objects, loads the dump tool under test, prints
// {"type":"ready"} as a JSON line, then obeys stdin lines: "busy <ms>" spins the main
// thread for that long (printing busy-start / busy-end with wall-clock times).
//
// TOOL=leakwatch (LEAKWATCH_PATH: index.js to require), TOOL=heapdump (HEAPDUMP_PATH:
// the package to require), TOOL=node (started with --heapsnapshot-signal=SIGUSR2: nothing
// to load).
const v8 = require('node:v8');
const readline = require('node:readline');

const send = (message) => process.stdout.write(JSON.stringify({ t: Date.now(), ...message }) + '\n');

const tool = process.env.TOOL;
if (tool === 'leakwatch') {
  const leakwatch = require(process.env.LEAKWATCH_PATH);
  leakwatch.on('snapshot', (info) => send({ type: 'snapshot', viaInspector: Boolean(info.viaInspector), completedAt: +info.completedAt, durationMs: info.durationMs }));
  leakwatch.on('error', (error) => send({ type: 'error', code: error.code, message: error.message }));
}
else if (tool === 'heapdump') require(process.env.HEAPDUMP_PATH);
else if (tool !== 'node') throw new Error(`unknown TOOL '${tool}'`);

// ~100 MB of ordinary objects: a record with a string, a number and a small array each
// (~190 bytes). A fixed count, not "until the heap reaches N", so that every tool dumps
// the same heap whatever it allocated itself.
const count = Math.round(Number(process.env.TARGET_MB || 100) * 5800);
const records = [];
for (let i = 0; i < count; i++) records.push({ id: i, name: `record-${i}`, tags: [i & 7, i & 15] });
globalThis.records = records;

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'busy') {
    const ms = Number(arg);
    const start = Date.now();
    send({ type: 'busy-start', start, ms });
    let spins = 0;
    while (Date.now() - start < ms) spins++;
    send({ type: 'busy-end', end: Date.now(), spins });
  }
});
rl.on('close', () => process.exit(0));
// The watchdog worker registers shortly after start-up; the bench waits a moment after this.
send({ type: 'ready', pid: process.pid, tool, objects: records.length, heapUsed: v8.getHeapStatistics().used_heap_size });
