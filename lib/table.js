'use strict';
// Aligned text tables for the CLI: numbers right-aligned, text left-aligned.

function table(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((_, col) => Math.max(...cells.map((row) => row[col].length)));
  const numeric = headers.map((_, col) => rows.length > 0 && rows.every((row) => typeof row[col] === 'number' || /^[-+]?[\d.,]+( ?[kmg]?b|bytes)?$/.test(String(row[col]))));
  return cells
    .map((row) => row.map((cell, col) => (numeric[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd())
    .join('\n');
}

module.exports = { table };
