'use strict';

/** "30s", "2m", "1500ms", "10" (seconds) -> milliseconds, or undefined. */
function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[match[2] || 's'];
  return Math.round(Number(match[1]) * unit);
}

module.exports = { parseDuration };
