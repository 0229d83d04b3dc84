// A real headless browser for the tests of report.html (and its bench): Chromium started
// with --remote-debugging-port=0 and driven through its DevTools protocol over a minimal
// WebSocket client written on node:http's upgrade (Node 20 has no global WebSocket without
// a flag; nothing is added to the dependencies). One browser, one page per target, every
// console error, uncaught exception, log error and network request of each page recorded.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The Chromium to use: $LEAKWATCH_CHROMIUM, else the first of CANDIDATES on the PATH; or null. */
export function findChromium() {
  if (process.env.LEAKWATCH_CHROMIUM) return fs.existsSync(process.env.LEAKWATCH_CHROMIUM) ? process.env.LEAKWATCH_CHROMIUM : null;
  for (const name of CANDIDATES) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/** Why the browser tests skip, in one line (null when a Chromium is there). */
export function browserSkipReason() {
  return findChromium()
    ? null
    : 'no Chromium found: these tests open report.html in a real headless browser; install it (Debian: apt-get install -y chromium; .ci/run does) or set LEAKWATCH_CHROMIUM=/path/to/chrome, then run node --test __test__/report.test.mjs';
}

// ---- a minimal WebSocket client (RFC 6455: text frames, fragmentation, ping) ----------

class WebSocketClient extends EventEmitter {
  static connect(url) {
    const { hostname, port, pathname, search } = new URL(url);
    const key = crypto.randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: hostname,
        port,
        path: pathname + search,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
      });
      req.on('upgrade', (res, socket, head) => {
        const expected = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== expected) {
          socket.destroy();
          reject(new Error('WebSocket handshake: wrong Sec-WebSocket-Accept'));
          return;
        }
        resolve(new WebSocketClient(socket, head));
      });
      req.on('response', (res) => reject(new Error(`WebSocket handshake refused: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  constructor(socket, head) {
    super();
    this.socket = socket;
    this.chunks = head && head.length ? [head] : [];
    this.size = head ? head.length : 0;
    this.fragments = [];
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      this.parse();
    });
    socket.on('close', () => this.emit('close'));
    socket.on('error', (error) => this.emit('error', error));
    if (this.size) setImmediate(() => this.parse());
  }

  /** The first `n` bytes buffered, as one Buffer (joined only when needed). */
  peek(n) {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  take(n) {
    const buffer = this.peek(n);
    const out = buffer.subarray(0, n);
    this.chunks[0] = buffer.subarray(n);
    if (this.chunks[0].length === 0) this.chunks.shift();
    this.size -= n;
    return out;
  }

  parse() {
    for (;;) {
      if (this.size < 2) return;
      const head = this.peek(Math.min(this.size, 14));
      const fin = (head[0] & 0x80) !== 0;
      const opcode = head[0] & 0x0f;
      const masked = (head[1] & 0x80) !== 0;
      let length = head[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.size < 4) return;
        length = head.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.size < 10) return;
        length = Number(head.readBigUInt64BE(2));
        offset = 10;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (this.size < offset + length) return;
      const frame = this.take(offset + length);
      let payload = Buffer.from(frame.subarray(offset));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= frame[maskAt + (i % 4)];
      if (opcode === 0x8) {
        this.socket.end();
        return;
      }
      if (opcode === 0x9) {
        this.frame(0xa, payload);
        continue;
      }
      if (opcode === 0xa) continue;
      this.fragments.push(payload);
      if (fin) {
        payload = Buffer.concat(this.fragments);
        this.fragments = [];
        this.emit('message', payload.toString('utf8'));
      }
    }
  }

  frame(opcode, payload) {
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const header = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    if (n < 126) header[1] = 0x80 | n;
    else if (n < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(n, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
    this.socket.write(Buffer.concat([header, mask, body]));
  }

  send(text) {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  close() {
    try {
      this.frame(0x8, Buffer.alloc(0));
    } catch {}
    this.socket.end();
  }
}

// ---- the DevTools protocol ------------------------------------------------------------

class Connection extends EventEmitter {
  constructor(ws) {
    super();
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    ws.on('message', (text) => {
      const message = JSON.parse(text);
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        if (!waiter) return;
        this.pending.delete(message.id);
        if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}${message.error.data ? ` (${message.error.data})` : ''}`));
        else waiter.resolve(message.result);
      } else {
        this.emit(message.sessionId ? `${message.sessionId}:${message.method}` : message.method, message.params);
      }
    });
    ws.on('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${waiter.method}: the browser went away`));
      this.pending.clear();
    });
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }
}

export class Page {
  constructor(connection, sessionId, targetId) {
    this.connection = connection;
    this.sessionId = sessionId;
    this.targetId = targetId;
    /** Console errors, uncaught exceptions and log errors, as text. */
    this.errors = [];
    /** URLs of every request the page made. */
    this.requests = [];
    const on = (event, fn) => connection.on(`${sessionId}:${event}`, fn);
    on('Runtime.consoleAPICalled', (p) => {
      if (p.type === 'error' || p.type === 'assert') this.errors.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description ?? '').join(' ')}`);
    });
    on('Runtime.exceptionThrown', (p) => this.errors.push(`exception: ${p.exceptionDetails.exception ? p.exceptionDetails.exception.description : p.exceptionDetails.text}`));
    on('Log.entryAdded', (p) => {
      if (p.entry.level === 'error') this.errors.push(`log (${p.entry.source}): ${p.entry.text}${p.entry.url ? ` ${p.entry.url}` : ''}`);
    });
    on('Network.requestWillBeSent', (p) => this.requests.push(p.request.url));
  }

  send(method, params) {
    return this.connection.send(method, params, this.sessionId);
  }

  once(event) {
    return new Promise((resolve) => this.connection.once(`${this.sessionId}:${event}`, resolve));
  }

  /** Open `file` (a path) and wait for its load event; returns the ms from the request to the load event. */
  async open(file, { width = 1280, height = 900 } = {}) {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const loaded = this.once('Page.loadEventFired');
    const started = performance.now();
    const result = await this.send('Page.navigate', { url: pathToFileURL(file).href });
    if (result.errorText) throw new Error(`cannot open ${file}: ${result.errorText}`);
    await loaded;
    return performance.now() - started;
  }

  /** Evaluate `expression` in the page (awaiting a promise); returns its value (JSON-able). */
  async evaluate(expression) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true, userGesture: true });
    if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text}\n${expression}`);
    return r.result.value;
  }

  /** A key pressed on the focused element, as the keyboard sends it. */
  async press(key) {
    const codes = { Enter: ['Enter', 13, '\r'], Tab: ['Tab', 9, ''], ArrowRight: ['ArrowRight', 39, ''], ArrowLeft: ['ArrowLeft', 37, ''], ' ': ['Space', 32, ' '], '+': ['Equal', 187, '+'] };
    const [code, keyCode, text] = codes[key];
    await this.send('Input.dispatchKeyEvent', { type: text ? 'keyDown' : 'rawKeyDown', key, code, windowsVirtualKeyCode: keyCode, text: text || undefined });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code, windowsVirtualKeyCode: keyCode });
  }

  /** The mouse moved to (x, y) of the viewport. */
  async mouseMove(x, y) {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
  }

  /** A PNG of the whole page, written to `file`. */
  async screenshot(file) {
    const metrics = await this.send('Page.getLayoutMetrics');
    const size = metrics.cssContentSize || metrics.contentSize;
    const height = Math.min(12000, Math.ceil(size.height));
    const { data } = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: Math.ceil(size.width), height, scale: 1 } });
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
    return file;
  }

  async close() {
    await this.connection.send('Target.closeTarget', { targetId: this.targetId }).catch(() => {});
  }
}

export class Browser {
  /** Start Chromium headless (a fresh profile directory) and connect to it. */
  static async launch({ executable = findChromium(), timeoutMs = 30000 } = {}) {
    if (!executable) throw new Error(browserSkipReason());
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-chromium-'));
    const args = [
      '--headless',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-gpu',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--mute-audio',
      'about:blank',
    ];
    // Chromium refuses to run as root with its sandbox (a CI container runs as root).
    if (process.getuid && process.getuid() === 0) args.unshift('--no-sandbox');
    const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Chromium did not start within ${timeoutMs} ms:\n${stderr.slice(-2000)}`)), timeoutMs);
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited (${code ?? signal}) before it listened:\n${stderr.slice(-2000)}`));
      });
    });
    child.stderr.resume();
    const ws = await WebSocketClient.connect(url);
    const browser = new Browser(child, new Connection(ws), profile);
    browser.version = await browser.connection.send('Browser.getVersion');
    return browser;
  }

  constructor(child, connection, profile) {
    this.child = child;
    this.connection = connection;
    this.profile = profile;
  }

  /** A new tab with the domains the checks need enabled. */
  async newPage() {
    const { targetId } = await this.connection.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.connection.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this.connection, sessionId, targetId);
    await Promise.all(['Page.enable', 'Runtime.enable', 'Network.enable', 'Log.enable'].map((m) => page.send(m)));
    return page;
  }

  async close() {
    await this.connection.send('Browser.close').catch(() => {});
    const exited = new Promise((resolve) => (this.child.exitCode !== null || this.child.signalCode !== null ? resolve() : this.child.once('exit', resolve)));
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(timer);
    this.connection.ws.close();
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}
