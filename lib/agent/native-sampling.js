'use strict';
// V8's sampling heap profiler driven natively (src/v8_sampling.rs): started without
// kSamplingForceGC and read with HeapProfiler::GetAllocationProfile(), so a read never
// collects. Before the first use in a process, a self-check proves that the profile reads
// as V8's header describes: V8's sampler runs at a fine interval while `probe` below
// allocates, and the profile read natively must hold exactly this function, in this file,
// at this line, with its samples. Until then nothing is read; when the check fails (another
// V8, another runtime), `check()` says why and the caller keeps the inspector route.

const fs = require('node:fs');
const native = require('../shared/native');

const PROBE_NAME = 'leakwatchNativeSamplingProbe';

// Allocates ~100 KB that stays alive until the check has read it. Its name, file and line
// are what the check looks for (the line is found in this file's text, not written twice).
function leakwatchNativeSamplingProbe(count) {
  const kept = [];
  for (let i = 0; i < count; i++) kept.push({ i, values: [i, i + 1, i + 2, i + 3] });
  return kept;
}

/** 1-based line of the probe's definition in this file. */
function probeLine() {
  const text = fs.readFileSync(__filename, 'utf8');
  const at = text.indexOf(`function ${PROBE_NAME}(`);
  return text.slice(0, at).split('\n').length;
}

// 'ok', 'busy' (another sampler runs: nothing can be checked until it stops), or the
// ERR_LEAKWATCH_SAMPLING_FALLBACK error (final for this process).
let verdict = null;

/**
 * Run the self-check once per process (again after 'busy'). Returns 'ok' or 'busy', or the
 * error that says why the native route is unusable here. Never throws.
 */
function check() {
  if (verdict === 'ok' || (verdict && verdict !== 'busy')) return verdict;
  let begun = false;
  try {
    const line = probeLine();
    if (!native.nativeSamplingCheckBegin()) return (verdict = 'busy');
    begun = true;
    const kept = leakwatchNativeSamplingProbe(2000);
    begun = false; // checkEnd stops the check's sampler, whatever it finds
    native.nativeSamplingCheckEnd(PROBE_NAME, __filename, line);
    if (kept.length !== 2000) throw new Error('probe');
    verdict = 'ok';
  } catch (error) {
    // Never leave V8's sampler running at the check's fine interval.
    if (begun) {
      try {
        native.nativeSamplingStop();
      } catch {
        // nothing more to stop
      }
    }
    verdict = error instanceof Error ? error : new Error(String(error));
    if (!verdict.code) verdict.code = 'ERR_LEAKWATCH_SAMPLING_FALLBACK';
  }
  return verdict;
}

/** A read that did not verify: the native route is done for this process. */
function disable(error) {
  if (!error.code) error.code = 'ERR_LEAKWATCH_SAMPLING_FALLBACK';
  verdict = error;
}

module.exports = {
  check,
  disable,
  /** Start sampling (no forced GCs); false when another sampler already runs. */
  start: (interval, stackDepth) => native.nativeSamplingStart(interval, stackDepth),
  stop: () => native.nativeSamplingStop(),
  /** The profile now as `.heapprofile` JSON text (no GC); null when no sampler runs. */
  profileText: () => native.nativeSamplingProfile(),
};
