'use strict';
// Options: defaults, environment variables, and validation with clear messages.

const { DEFAULT_MAX_BYTES } = require('../shared/records');
const { leakwatchError } = require('../shared/errors');
const native = require('../shared/native');

const invalid = (message) => leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', message);

// The leak detector's options, named once: the core's DetectorOptions (detector, warmupMs,
// minDurationMs, minSamples, minGrowthBytes, minGrowthRatio, maxWindowMs, probeIntervalMs,
// maxProbePauseMs), whose defaults are the core's too (DetectorConfig::for_rule).
const DETECTOR_KEYS = Object.freeze(native.detectorOptionNames());

const DEFAULTS = Object.freeze({
  // Snapshots (heapdump)
  snapshotDir: undefined, // default: the current directory at dump time
  maxSnapshots: 0, // keep at most this many of leakwatch's own snapshots (0 = keep all)
  signal: 'SIGUSR2', // false: no signal handling
  watchdog: true, // dump through the inspector when the main thread is stuck
  stuckAfterMs: 1000,
  busyReportAfterMs: 600000, // report dumps refused because one has run longer than this
  checkResources: true, // refuse when free memory or disk is clearly too small
  growthReport: true, // print per-constructor growth to stderr after each dump
  // Leak detection (memwatch)
  leakDetection: false, // observe GCs even with no 'stats'/'leak' listener
  reportLeaks: false, // print 'leak' events to stderr (on under leakwatch/register)
  statsFile: undefined, // append every stats/leak/snapshot event as JSON lines
  statsFileMaxBytes: DEFAULT_MAX_BYTES, // then rotate it to <statsFile>.1 (one kept); 0: never
  // detector: 'adaptive' (default) or 'legacy' (leakwatch 0.1's rule); the rest tune it
  ...Object.fromEntries(DETECTOR_KEYS.map((key) => [key, undefined])),
  // Allocation sampling (leak sites): on with leakDetection unless false; true or
  // {interval, stackDepth, readPeriodMs, windowReads} turns it on (see lib/agent/sampler.js).
  sampling: undefined,
  // Memory pressure (lib/agent/pressure.js): on with leak detection or sampling unless false;
  // {heap: [r1, r2], memory: [r1, r2], rearmMargin, cooldownMs} sets the thresholds.
  memoryPressure: undefined,
  snapshotOnPressure: false, // also a full heap snapshot on pressure, when there is room
  // Metrics (lib/agent/metrics.js): serve Prometheus' /metrics at 'host:port' (loopback unless a
  // host is given), a port, true (127.0.0.1:9464) or {host, port, maxSites}; false: none.
  metrics: undefined,
});

// The detector's rules: the core's (Rule).
const DETECTOR_RULES = Object.freeze(native.detectorRules());

// The variables that set one option each: [variable, option, parse].
const NUMBER = (text) => (/^\s*$/.test(text) ? NaN : Number(text));
const ENVIRONMENT = [
  ['LEAKWATCH_SNAPSHOT_DIR', 'snapshotDir', String],
  ['LEAKWATCH_MAX_SNAPSHOTS', 'maxSnapshots', NUMBER],
  ['LEAKWATCH_SIGNAL', 'signal', (text) => (/^(off|none|false|0)$/i.test(text) ? false : text)],
  ['LEAKWATCH_STATS_FILE', 'statsFile', String],
  ['LEAKWATCH_STATS_FILE_MAX_BYTES', 'statsFileMaxBytes', NUMBER],
  ['LEAKWATCH_METRICS', 'metrics', String],
];

/** The problem with one variable, naming it and what it held. */
function invalidVariable(variable, text, error) {
  const reason = error.message.replace(/, got .*$/s, '');
  return leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `${variable}=${JSON.stringify(text)}: ${reason}`, { variable });
}

/**
 * Options from the environment (LEAKWATCH_OPTIONS, a JSON object, then the LEAKWATCH_*
 * variables, which win). Without `onInvalid`, the options are returned unchecked (the
 * caller validates them) and LEAKWATCH_OPTIONS that is not JSON throws. With
 * `onInvalid(error)`, every value is checked here: each invalid one (an unknown option, a
 * number that does not parse, a fractional byte count, …) is left out, so that its default
 * applies, and reported as an ERR_LEAKWATCH_INVALID_OPTION naming the variable.
 */
function fromEnvironment(env, onInvalid) {
  const options = {};
  const set = (variable, key, value, text) => {
    if (onInvalid) {
      try {
        validate({ [key]: value });
      } catch (error) {
        onInvalid(variable === 'LEAKWATCH_OPTIONS' ? leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `LEAKWATCH_OPTIONS: ${error.message}`, { variable }) : invalidVariable(variable, text, error));
        return;
      }
    }
    options[key] = value;
  };
  if (env.LEAKWATCH_OPTIONS) {
    let parsed = {};
    try {
      parsed = JSON.parse(env.LEAKWATCH_OPTIONS);
    } catch (error) {
      const refusal = leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `LEAKWATCH_OPTIONS is not valid JSON: ${error.message}`, { variable: 'LEAKWATCH_OPTIONS' });
      if (!onInvalid) throw refusal;
      onInvalid(refusal);
    }
    if (onInvalid && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
      onInvalid(leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `LEAKWATCH_OPTIONS must be a JSON object, got ${env.LEAKWATCH_OPTIONS}`, { variable: 'LEAKWATCH_OPTIONS' }));
      parsed = {};
    }
    parsed = Object.assign({}, parsed); // without onInvalid, as ever: validate() judges the keys
    for (const [key, value] of Object.entries(parsed)) set('LEAKWATCH_OPTIONS', key, value);
  }
  for (const [variable, key, parse] of ENVIRONMENT) {
    if (env[variable]) set(variable, key, parse(env[variable]), env[variable]);
  }
  if (env.LEAKWATCH_QUIET && env.LEAKWATCH_QUIET !== '0') options.growthReport = false;
  // heapdump's switch, honoured so existing deployments keep their behaviour.
  if (/(^|,)\s*nosignal\s*(,|$)/.test(env.NODE_HEAPDUMP_OPTIONS || '')) options.signal = false;
  return options;
}

function validate(options) {
  if (options === null || typeof options !== 'object') throw invalid('leakwatch options must be an object');
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(DEFAULTS, key)) throw invalid(`unknown leakwatch option '${key}' (known: ${Object.keys(DEFAULTS).join(', ')})`);
  }
  const check = (key, ok, expected) => {
    if (options[key] !== undefined && !ok(options[key])) throw invalid(`leakwatch option ${key} must be ${expected}, got ${JSON.stringify(options[key])}`);
  };
  const nonNegative = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  check('snapshotDir', (v) => typeof v === 'string' && v.length > 0, 'a directory path');
  check('maxSnapshots', (v) => Number.isInteger(v) && v >= 0, 'a whole number (0 = keep all)');
  check('signal', (v) => v === false || (typeof v === 'string' && /^SIG[A-Z0-9]+$/.test(v)), "a signal name like 'SIGUSR2', or false");
  check('stuckAfterMs', nonNegative, 'a number of milliseconds');
  check('busyReportAfterMs', (v) => nonNegative(v) && v <= 2 ** 32 - 1, 'a number of milliseconds');
  check('statsFile', (v) => typeof v === 'string' && v.length > 0, 'a file path');
  check('statsFileMaxBytes', (v) => Number.isInteger(v) && v >= 0, 'a whole number of bytes (0 = never rotate)');
  if (options.memoryPressure !== undefined) require('./pressure').validatePressureOptions(options.memoryPressure);
  if (options.metrics !== undefined) require('./metrics').parseEndpoint(options.metrics);
  for (const key of ['watchdog', 'checkResources', 'growthReport', 'leakDetection', 'reportLeaks', 'snapshotOnPressure']) check(key, (v) => typeof v === 'boolean', 'true or false');
  check('detector', (v) => DETECTOR_RULES.includes(v), `one of ${DETECTOR_RULES.map((r) => `'${r}'`).join(', ')}`);
  for (const key of DETECTOR_KEYS.filter((k) => k !== 'detector')) check(key, nonNegative, 'a non-negative number');
  check('sampling', (v) => typeof v === 'boolean' || (v !== null && typeof v === 'object' && !Array.isArray(v)), 'true, false or an object {interval, stackDepth, readPeriodMs, windowReads}');
  if (options.sampling && typeof options.sampling === 'object') require('./sampler').validateOptions(options.sampling);
  return options;
}

function detectorOptions(config) {
  const out = {};
  for (const key of DETECTOR_KEYS) if (config[key] !== undefined) out[key] = config[key];
  return out;
}

/** Whether allocation sampling runs, and with which options (undefined: off). */
function samplingOptions(config) {
  if (config.sampling === false) return undefined;
  if (config.sampling === true) return {};
  if (config.sampling && typeof config.sampling === 'object') return config.sampling;
  return config.leakDetection ? {} : undefined;
}

module.exports = { DEFAULTS, fromEnvironment, validate, detectorOptions, samplingOptions };
