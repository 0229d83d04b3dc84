// Formatting helpers for benchmark reports: sizes, durations, ratios, aligned tables.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function size(bytes) {
  if (!Number.isFinite(bytes)) return '—';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[u]}`;
}

export function seconds(ms) {
  if (!Number.isFinite(ms)) return '—';
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function ratio(x) {
  if (!Number.isFinite(x)) return '—';
  return x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

/** File bytes (10^9 per GB) per second of CPU time: the speed per core. */
export function gbPerCpuSecond(bytes, cpuMs) {
  return bytes / 1e9 / (cpuMs / 1000);
}

export function percent(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—';
}

/** Plain-text table; columns whose values look numeric are right-aligned. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  // Placeholders (—, fails, n/a) neither make nor break a numeric column.
  const placeholder = /^(—|fails|n\/a)$/;
  const numeric = headers.map((_, i) => {
    const values = rows.map((r) => String(r[i] ?? '')).filter((v) => !placeholder.test(v));
    return values.length > 0 && values.every((v) => /^[\d.,\s]*[\d.]+\s*(s|%|×|[KMGT]?B)?$/.test(v));
  });
  const line = (r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
