'use strict';
// Preload entry: `node -r leakwatch/register app.js` (or NODE_OPTIONS=--require leakwatch/register).
// Turns leak detection on and reports leaks on stderr; options come from LEAKWATCH_OPTIONS
// (JSON) and the other LEAKWATCH_* variables.

const leakwatch = require('./index.js');

leakwatch.configure({ leakDetection: true, reportLeaks: leakwatch.options.reportLeaks || !process.env.LEAKWATCH_QUIET });

module.exports = leakwatch;
