// Shared by the test files: run the CLI as a real process, wait for conditions.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(root, 'cli.js');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe()` until it returns a truthy value, or fail after `timeoutMs`. */
export async function until(probe, timeoutMs, what, everyMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Run `node cli.js ...args`; resolves {code, signal, stdout, stderr}. Killed after timeoutMs. */
export function cli(args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also ends whatever it started.
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`leakwatch ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * `node [nodeArgs] cli.js ...args` in its own process group (so a timeout also ends the
 * app it watches). Returns {child, out, done}; done resolves {code, signal, stdout,
 * stderr, ms}.
 */
export function start(args, { timeoutMs = 60000, env = {}, nodeArgs = [] } = {}) {
  const started = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`leakwatch ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...out, ms: Date.now() - started });
    });
  });
  return { child, out, done };
}

/** Whether process `pid` exists. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Collects the JSON lines a child writes to `stream` into an array (filled as they come). */
export function jsonLines(stream) {
  const lines = [];
  let buffered = '';
  stream.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
  });
  return lines;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `node args` in its own process group with `env` over this one's (NODE_OPTIONS cleared
 * unless given); {child, out, stop()}: stop() ends the whole group and resolves when it closed.
 */
export function spawnNode(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NODE_OPTIONS: '', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...out })));
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    return closed;
  };
  return { child, out, closed, stop };
}

/**
 * A Prometheus text exposition as a Map from `name{labels}` (labels sorted, as written by
 * leakwatch: `name{a="x",b="y"}`) to its value; also `series(name)`: [{labels, value}].
 */
export function parseExposition(text) {
  const values = new Map();
  const all = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    const value = Number(m[4] === '+Inf' ? Infinity : m[4]);
    values.set(m[2] ? `${m[1]}${m[2]}` : m[1], value);
    all.push({ name: m[1], labels, value });
  }
  values.series = (name) => all.filter((s) => s.name === name);
  return values;
}
