'use strict';
// Progress on stderr for long reads, only when a person is watching a terminal.

function progressReporter(label) {
  if (!process.stderr.isTTY) return undefined;
  let last = -1;
  // The native reader reports [bytesRead, totalBytes].
  return ([done, total]) => {
    const percent = total > 0 ? Math.floor((done / total) * 100) : 0;
    if (percent === last) return;
    last = percent;
    process.stderr.write(`\r${label}: ${percent}%`);
    if (done >= total) process.stderr.write('\r\x1b[K');
  };
}

module.exports = { progressReporter };
