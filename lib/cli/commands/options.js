'use strict';

/** A non-negative whole number from a CLI string, or undefined. */
function positiveInt(text) {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

module.exports = { positiveInt };
