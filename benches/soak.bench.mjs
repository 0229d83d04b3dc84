// `npm run bench -- soak` (minutes; not in CI): leakwatch's own memory over time. The same
// steady, GC-heavy service (benches/lib/soak-workload.cjs, no leak) runs side by side as
//   plain        — no leakwatch;
//   leakwatch    — preloaded as `leakwatch run` does it (register.js, a stats file, leak
//                  detection, the dump signal and its watchdog worker);
//   no-watchdog  — the same with {watchdog: false}, to tell the worker's share apart.
// Each prints its memory every 5 s (RSS split into anonymous and file-backed pages,
// V8 heap by space, malloced memory, threads, the stats file's size). The bench prints the
// timeline, each variant's growth after warm-up, leakwatch's cost (RSS and heap minus
// plain's), and the largest RSS step of each run with what moved in it; it saves
// benches/results/soak.md. LEAKWATCH_SOAK_SECONDS (default 270) sets the length.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { size, table } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const workload = path.join(here, 'lib', 'soak-workload.cjs');
const SECONDS = Number(process.env.LEAKWATCH_SOAK_SECONDS || 270);
const WARMUP_MS = Math.min(30000, (SECONDS * 1000) / 6);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-soak-'));

const register = path.join(root, 'register.js');
const VARIANTS = {
  plain: {},
  leakwatch: { NODE_OPTIONS: `--require ${register}`, LEAKWATCH_STATS_FILE: path.join(scratch, 'leakwatch.jsonl'), LEAKWATCH_QUIET: '1' },
  'no-watchdog': {
    NODE_OPTIONS: `--require ${register}`,
    LEAKWATCH_STATS_FILE: path.join(scratch, 'no-watchdog.jsonl'),
    LEAKWATCH_QUIET: '1',
    LEAKWATCH_OPTIONS: JSON.stringify({ watchdog: false }),
  },
};

function run(name, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=2', workload], { env: { ...process.env, NODE_OPTIONS: '', ...env, LEAKWATCH_SOAK_SECONDS: String(SECONDS) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${name} exited with ${code}`));
      resolve(text.trim().split('\n').map((l) => JSON.parse(l)));
    });
  });
}

process.stderr.write(`[soak] ${Object.keys(VARIANTS).join(', ')} side by side for ${SECONDS} s (node ${process.version}, ${os.cpus().length} cores)\n`);
const names = Object.keys(VARIANTS);
const series = {};
const results = await Promise.all(names.map((n) => run(n, VARIANTS[n])));
names.forEach((n, i) => (series[n] = results[i]));

/** The sample of `name` nearest to time t. */
const at = (name, t) => series[name].reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best));
const mb = (b) => (b < 0 ? `−${size(-b)}` : size(b));
const out = [];
const say = (line = '') => {
  out.push(line);
  process.stdout.write(line + '\n');
};

say(`## Soak: ${SECONDS} s, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
say('');
say('Timeline (RSS / V8 heap used), every 30 s:');
say('');
const rows = [];
for (let t = 0; t <= SECONDS * 1000; t += 30000) {
  const p = at('plain', t);
  const l = at('leakwatch', t);
  const w = at('no-watchdog', t);
  rows.push([`${Math.round(l.t / 1000)} s`, mb(p.rss), mb(l.rss), mb(w.rss), mb(l.rss - p.rss), mb(p.heapUsed), mb(l.heapUsed), mb(l.heapUsed - p.heapUsed), String(l.threads - p.threads), mb(l.statsBytes)]);
}
say('```');
say(table(['t', 'RSS plain', 'RSS leakwatch', 'RSS no-watchdog', 'RSS Δ', 'heap plain', 'heap leakwatch', 'heap Δ', 'threads Δ', 'stats file'], rows));
say('```');
say('');
say(`Growth from ${Math.round(WARMUP_MS / 1000)} s to the end (peak RSS over the whole run):`);
say('');
const growth = names.map((n) => {
  const s = series[n];
  const a = at(n, WARMUP_MS);
  const z = s[s.length - 1];
  return [n, mb(a.rss), mb(z.rss), mb(z.rss - a.rss), mb(Math.max(...s.map((x) => x.rss))), mb(a.heapUsed), mb(z.heapUsed), mb(z.heapUsed - a.heapUsed), mb(z.malloced - a.malloced)];
});
say('```');
say(table(['variant', 'RSS start', 'RSS end', 'RSS growth', 'RSS peak', 'heap start', 'heap end', 'heap growth', 'malloced growth'], growth));
say('```');
say('');
say(`Largest RSS step between two samples after ${Math.round(WARMUP_MS / 1000)} s in each run (what moved with it):`);
say('');
const steps = names.map((n) => {
  const s = series[n];
  const from = Math.max(1, s.findIndex((x) => x.t >= WARMUP_MS));
  let best = from;
  for (let i = from + 1; i < s.length; i++) if (s[i].rss - s[i - 1].rss > s[best].rss - s[best - 1].rss) best = i;
  const [a, b] = [s[best - 1], s[best]];
  const space = Object.keys(b.spaces)
    .map((k) => [k, b.spaces[k].committed - (a.spaces[k] ? a.spaces[k].committed : 0)])
    .sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]))[0];
  return [n, `${Math.round(a.t / 1000)}→${Math.round(b.t / 1000)} s`, mb(b.rss - a.rss), mb(b.rssAnon - a.rssAnon), mb(b.rssFile - a.rssFile), mb(b.heapTotal - a.heapTotal), `${space[0]} ${mb(space[1])}`, mb(b.malloced - a.malloced), String(b.threads - a.threads)];
});
say('```');
say(table(['variant', 'when', 'RSS', 'anon', 'file', 'heap committed', 'largest space change', 'malloced', 'threads'], steps));
say('```');
say('');
say(`RSS outside the main V8 heap (RSS − heap committed) after ${Math.round(WARMUP_MS / 1000)} s: flat means every RSS step was the V8 heap`);
say('growing or shrinking its committed pages; a step here is native memory (threads, the addon, malloc):');
say('');
const outside = names.map((n) => {
  const v = series[n].filter((x) => x.t >= WARMUP_MS).map((x) => x.rss - x.heapTotal);
  return [n, mb(Math.min(...v)), mb(Math.max(...v)), mb(Math.max(...v) - Math.min(...v))];
});
say('```');
say(table(['variant', 'min', 'max', 'range'], outside));
say('```');
const end = (n) => series[n][series[n].length - 1];
const cost = (n) => end(n).rss - end('plain').rss;
say('');
say(`leakwatch's cost at the end: RSS +${mb(cost('leakwatch'))} (of which the watchdog worker ~${mb(cost('leakwatch') - cost('no-watchdog'))}), heap used ${mb(end('leakwatch').heapUsed - end('plain').heapUsed)}; stats file ${mb(end('leakwatch').statsBytes)}.`);
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(path.join(here, 'results', 'soak.md'), out.join('\n') + '\n');
fs.writeFileSync(path.join(scratch, 'series.json'), JSON.stringify(series));
process.stderr.write(`[soak] saved benches/results/soak.md; raw samples in ${path.join(scratch, 'series.json')}\n`);
