// The watchdog's route (issue 9): Debugger.pause of a stuck main thread, then its own dump
// function evaluated there. Measures, in a child process holding a ~50 MB heap:
// - dump time, main thread idle (it writes the file itself) vs stuck in a busy loop (the
//   watchdog pauses it and runs the dump): ratio stuck / idle; and the pause latency;
// - the raw inspector steps from a worker: Debugger.enable and Debugger.disable (enable
//   reports every compiled script to the session: measured with 0 and 3,000 extra
//   scripts), and Debugger.pause stopping a busy loop;
// - a CPU workload's speed with the debugger enabled vs disabled (interleaved, after the
//   watchdog's dumps: the state it leaves behind).
// `npm run bench -- watchdog`; knobs LEAKWATCH_BENCH_RUNS (3), LEAKWATCH_BENCH_HEAP_MB (50).
// Writes benches/results/watchdog.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, seconds, ratio } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const TARGET = path.join(here, 'lib', 'watchdog-target.cjs');
const RUNS = process.env.LEAKWATCH_BENCH_RUNS || '3';
const HEAP_MB = process.env.LEAKWATCH_BENCH_HEAP_MB || '50';
const ms = (x) => `${x.toFixed(1)} ms`;

const rows = [];
const lines = [];
for (const scripts of [0, 3000]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-bench-watchdog-'));
  process.stderr.write(`watchdog bench: ${HEAP_MB} MB heap, ${scripts} extra scripts, ${RUNS} runs…\n`);
  const out = JSON.parse(
    execFileSync(process.execPath, [TARGET, path.join(root, 'index.js'), dir], {
      env: { ...process.env, NODE_OPTIONS: '', HEAP_MB, SCRIPTS: String(scripts), RUNS, LEAKWATCH_QUIET: '1' },
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  const s = out.summary;
  rows.push([
    `${scripts} scripts`,
    seconds(s.idle),
    seconds(s.stuck),
    ratio(s.stuck / s.idle),
    ms(s.pause),
    ms(s.enable),
    ms(s.disable),
    ms(s.rawPause),
    ratio(out.enabled / out.disabled),
  ]);
  lines.push(`${scripts} scripts: idle dumps ${out.idle.map((x) => x.toFixed(0)).join(', ')} ms; stuck dumps ${out.stuck.map((x) => x.toFixed(0)).join(', ')} ms (pause ${out.pause.map((x) => x.toFixed(1)).join(', ')} ms); Debugger.enable ${out.enable.map((x) => x.toFixed(1)).join(', ')} ms; workload ${out.before.toFixed(0)} / ${out.afterIdle.toFixed(0)} / ${out.after.toFixed(0)} ops/ms (before / after idle dumps / after watchdog dumps); debugger on ${out.on.map((x) => x.toFixed(0)).join(', ')} vs off ${out.off.map((x) => x.toFixed(0)).join(', ')} ops/ms (interleaved)`);
  rows.node = out.node;
}
const headers = ['Process', 'Dump idle', 'Dump stuck', 'stuck/idle', 'Pause', 'Dbg.enable', 'Dbg.disable', 'Raw pause', 'CPU dbg on/off'];
const text = table(headers, rows);
const report = `# Watchdog route (${rows.node}, ${HEAP_MB} MB heap, median of ${RUNS})

Dump stuck: signal handed to the watchdog → complete file (pause + dump), while the main
thread spins; Dump idle: the main thread's own dump. Pause: watchdog request → main thread
paused. CPU dbg on/off: a CPU-bound loop's speed with the debugger enabled (by a worker,
no breakpoints) over its speed disabled, interleaved, medians; the "off" runs all come
after the watchdog's dumps and after an enable/disable cycle, i.e. in the state the
watchdog leaves behind. The machine is shared with other work: expect noise.

\`\`\`
${text}
\`\`\`

${lines.map((l) => `- ${l}`).join('\n')}
`;
process.stdout.write(text + '\n' + lines.join('\n') + '\n');
fs.writeFileSync(path.join(here, 'results', 'watchdog.md'), report);
