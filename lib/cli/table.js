'use strict';
// Aligned text tables for the CLI: numbers right-aligned, text left-aligned.

/** Longest text a table cell (or a name in a line of text) shows; the JSON output keeps it whole. */
const MAX_TEXT = 80;

/** `text` cut to `max` characters, ending with '…' when it was longer. */
function clip(text, max = MAX_TEXT) {
  text = String(text);
  if (text.length <= max) return text;
  let head = text.slice(0, max - 1);
  // Never leave half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return head + '…';
}

function table(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => clip(cell)));
  const widths = headers.map((_, col) => Math.max(...cells.map((row) => row[col].length)));
  const numeric = headers.map((_, col) => rows.length > 0 && rows.every((row) => typeof row[col] === 'number' || /^[-+]?[\d.,]+( ?[kmg]?b|bytes)?$/.test(String(row[col]))));
  return cells
    .map((row) => row.map((cell, col) => (numeric[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd())
    .join('\n');
}

module.exports = { table, clip, MAX_TEXT };
