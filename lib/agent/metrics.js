'use strict';
// Fleet metrics: leakwatch's figures and verdicts for Prometheus and OpenTelemetry. The
// families, their state and the text exposition are Rust (crates/core/src/metrics.rs); this
// file feeds them from leakwatch's events and connects them to what Node offers: an HTTP
// endpoint (`LEAKWATCH_METRICS` / the `metrics` option), a cluster's workers (over the
// cluster's IPC channel, as prom-client's AggregatorRegistry does), an app's prom-client
// registry and an app's OpenTelemetry MeterProvider (both optional peers, never
// dependencies: they are resolved from the app).

const http = require('node:http');
const cluster = require('node:cluster');
const { isMainThread } = require('node:worker_threads');
const native = require('../shared/native');
const { leakwatchError } = require('../shared/errors');
const { containerLimit } = require('./pressure');

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 9464; // OpenTelemetry's Prometheus exporter's default port
// The site series' default and cap are the core's (crates/core/src/metrics.rs).
const { METRICS_DEFAULT_MAX_SITES: DEFAULT_MAX_SITES, METRICS_MAX_SITES: MAX_SITES } = native;
/** A cluster's primary waits this long for its workers' figures, then renders without the silent ones. */
const WORKER_TIMEOUT_MS = 1000;
const REQUEST = 'leakwatch:metrics-request';
const REPLY = 'leakwatch:metrics-reply';
/** prom-client's cluster aggregation of each family: ratios and times are not summed. */
const AGGREGATORS = { leakwatch_heap_limit_ratio: 'max', leakwatch_container_memory_ratio: 'max', leakwatch_last_full_gc_timestamp_seconds: 'max' };

/**
 * The `metrics` option (or LEAKWATCH_METRICS): where to serve /metrics. Accepts 'host:port',
 * ':port' or 'port' (loopback), a port number, true (127.0.0.1:9464), or
 * {host, port, maxSites}; false/'off' serves nothing. Returns {host, port, maxSites} or null.
 */
function parseEndpoint(value) {
  if (value === undefined || value === false || value === null) return null;
  const bad = () => leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `leakwatch option metrics must be 'host:port', a port, true, false or {host, port, maxSites}, got ${JSON.stringify(value)}`);
  const port = (p) => {
    const n = typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p;
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad();
    return n;
  };
  if (value === true) return { host: DEFAULT_HOST, port: DEFAULT_PORT, maxSites: DEFAULT_MAX_SITES };
  if (typeof value === 'number') return { host: DEFAULT_HOST, port: port(value), maxSites: DEFAULT_MAX_SITES };
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^(off|none|false|0)$/i.test(text)) return null;
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) || (/^\d+$/.test(text) ? [null, undefined, '', text] : null);
    if (!m) throw bad();
    return { host: m[1] || m[2] || DEFAULT_HOST, port: port(m[3]), maxSites: DEFAULT_MAX_SITES };
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    for (const key of Object.keys(value)) if (!['host', 'port', 'maxSites'].includes(key)) throw bad();
    const maxSites = value.maxSites ?? DEFAULT_MAX_SITES;
    if (!Number.isInteger(maxSites) || maxSites < 0 || maxSites > MAX_SITES) throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `leakwatch option metrics.maxSites must be a whole number from 0 to ${MAX_SITES}, got ${JSON.stringify(maxSites)}`);
    if (value.host !== undefined && (typeof value.host !== 'string' || !value.host)) throw bad();
    return { host: value.host || DEFAULT_HOST, port: value.port === undefined ? DEFAULT_PORT : port(value.port), maxSites };
  }
  throw bad();
}

/** The app's copy of an optional peer (`prom-client`, `@opentelemetry/api`), or a clear error. */
function peer(name) {
  for (const paths of [[process.cwd()], undefined]) {
    try {
      return require(require.resolve(name, paths ? { paths } : undefined));
    } catch {
      // next place
    }
  }
  throw leakwatchError('ERR_LEAKWATCH_PEER_MISSING', `${name} is not installed: it is an optional peer of leakwatch (npm install ${name}), or pass your own`);
}

class MetricsExporter {
  constructor({ report, sampler }) {
    this.report = report;
    this.sampler = sampler;
    this.maxSites = DEFAULT_MAX_SITES;
    this.state = new native.Metrics(this.maxSites);
    this.containerLimit = isMainThread ? containerLimit() : 0;
    this.server = null;
    this.histograms = null; // OpenTelemetry histograms, recorded as events come
    this.onWorkerRequest = null;
    this.pending = new Map(); // request id -> {replies, done}
    this.nextId = 1;
    this.onClusterMessage = null;
    this.standing = new Map(); // verdict id -> kind: a re-reported leak is one verdict
  }

  /** Feed one of leakwatch's events (called for every emitted event). Never throws. */
  observe(event, payload) {
    try {
      if (event === 'stats') {
        this.state.observeGc({
          tMs: Date.now(),
          baseline: payload.estimated_base,
          growthPerSec: payload.usage_trend,
          heapUsed: payload.used_heap_size,
          heapLimit: payload.heap_size_limit,
          external: payload.external,
          arrayBuffers: payload.array_buffers,
          rss: payload.rss,
          containerLimit: this.containerLimit,
        });
      } else if (event === 'leak') {
        if (this.standing.has(payload.id)) return;
        // At most one standing verdict per kind: an id never seen replaces any older one.
        for (const [id, kind] of this.standing) if (kind === payload.kind) this.standing.delete(id);
        this.standing.set(payload.id, payload.kind);
        this.state.leakRaised(String(payload.kind));
        this.state.setLeaksActive(String(payload.kind), 1);
      } else if (event === 'leakResolved') {
        if (!this.standing.delete(payload.id)) return;
        this.state.leakResolved(String(payload.kind));
      } else if (event === 'snapshot') {
        const seconds = payload.durationMs / 1000;
        this.state.snapshotWritten(seconds, payload.bytes ?? NaN);
        if (this.histograms && Number.isFinite(seconds)) this.histograms.snapshot.record(seconds);
      } else if (event === 'memoryPressure') {
        this.state.pressure(String(payload.resource), Number(payload.level));
      }
    } catch (error) {
      this.report(error);
    }
  }

  /** One allocation-sampler read took `ms` of the main thread. */
  samplerRead(ms) {
    this.state.samplerRead(ms / 1000);
    if (this.histograms) this.histograms.pause.record(ms / 1000);
  }

  /** The leak-site gauges, from the sampler's latest ranking (never a new read). */
  refreshSites() {
    const sites = this.sampler.running && this.maxSites > 0 ? this.sampler.topSites(this.maxSites) : [];
    this.state.setSites(sites.map((s) => ({ function: String(s.functionName || '(anonymous)'), location: String(s.location || ''), liveBytes: s.liveBytes })));
  }

  /** This process's families, parsed ({name, otel, unit, type, help, samples}). */
  families() {
    this.refreshSites();
    return JSON.parse(this.state.familiesJson());
  }

  /** families(), or none (the failure reported): what the app's own collection gets. */
  safeFamilies() {
    try {
      return this.families();
    } catch (error) {
      this.report(error);
      return [];
    }
  }

  /**
   * The text exposition: this process's; in a cluster's primary, its own and every worker's
   * that answers within WORKER_TIMEOUT_MS, each series labelled `worker` ('primary' or the
   * worker's id).
   */
  async text() {
    this.refreshSites();
    const workers = cluster.isPrimary && cluster.workers ? Object.values(cluster.workers).filter((w) => w && w.isConnected()) : [];
    if (workers.length === 0) return this.state.render();
    const replies = await this.askWorkers(workers);
    const groups = [{ labels: { worker: 'primary' }, families: this.state.familiesJson() }];
    for (const worker of workers) {
      const families = replies.get(worker.id);
      if (typeof families === 'string') groups.push({ labels: { worker: String(worker.id) }, families });
    }
    try {
      return native.renderMetrics(groups);
    } catch (error) {
      // A worker that sent something unreadable: this process's page rather than none.
      this.report(error);
      return native.renderMetrics(groups.slice(0, 1));
    }
  }

  askWorkers(workers) {
    this.listenToWorkers();
    const id = `${process.pid}-${this.nextId++}`;
    return new Promise((resolve) => {
      const request = { replies: new Map(), expected: new Set(workers.map((w) => w.id)), done: null };
      const finish = () => {
        clearTimeout(request.timer);
        this.pending.delete(id);
        resolve(request.replies);
      };
      request.done = finish;
      request.timer = setTimeout(finish, WORKER_TIMEOUT_MS);
      request.timer.unref();
      this.pending.set(id, request);
      for (const worker of workers) {
        try {
          worker.send({ type: REQUEST, id });
        } catch {
          request.expected.delete(worker.id);
        }
      }
      if (request.expected.size === 0) finish();
    });
  }

  listenToWorkers() {
    if (this.onClusterMessage) return;
    this.onClusterMessage = (worker, message) => {
      if (!message || message.type !== REPLY) return;
      const request = this.pending.get(message.id);
      if (!request || !request.expected.has(worker.id)) return;
      request.replies.set(worker.id, message.families);
      request.expected.delete(worker.id);
      if (request.expected.size === 0) request.done();
    };
    cluster.on('message', this.onClusterMessage);
  }

  /** In a cluster worker: answer the primary's requests for this process's families. */
  answerPrimary() {
    if (!cluster.isWorker || this.onWorkerRequest) return;
    this.onWorkerRequest = (message) => {
      if (!message || message.type !== REQUEST) return;
      try {
        this.refreshSites();
        process.send({ type: REPLY, id: message.id, families: this.state.familiesJson() });
      } catch (error) {
        this.report(error);
      }
    };
    // A cluster worker's IPC channel is referenced already (the cluster listens on it): this
    // listener does not keep the worker alive longer.
    process.on('message', this.onWorkerRequest);
  }

  /**
   * Serve /metrics on `endpoint` ({host, port, maxSites}; null stops). In a cluster worker
   * nothing listens: the primary serves every worker's series. A port in use (or any listen
   * failure) is reported as ERR_LEAKWATCH_METRICS_LISTEN, never thrown.
   */
  serve(endpoint) {
    this.close();
    if (!endpoint) return;
    this.setMaxSites(endpoint.maxSites);
    if (cluster.isWorker) return this.answerPrimary();
    if (!isMainThread) return; // a worker thread's figures are its own; the process serves the main thread's
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('error', (error) => {
      this.report(leakwatchError('ERR_LEAKWATCH_METRICS_LISTEN', `leakwatch metrics: cannot listen on ${endpoint.host}:${endpoint.port}: ${error.message}`, { cause: error, host: endpoint.host, port: endpoint.port }));
      if (this.server === server) this.server = null;
    });
    server.listen(endpoint.port, endpoint.host);
    server.unref(); // never keeps the app alive
    this.server = server;
  }

  handle(req, res) {
    const url = (req.url || '').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || url !== '/metrics') {
      res.writeHead(url === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(url === '/metrics' ? 'GET only\n' : 'leakwatch serves /metrics\n');
      return;
    }
    this.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error) => {
        this.report(error);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('leakwatch metrics failed\n');
      },
    );
  }

  /** The address served, once listening: {address, port} (port 0 picks a free one). */
  address() {
    return this.server && this.server.listening ? this.server.address() : null;
  }

  setMaxSites(n) {
    this.maxSites = n;
    this.state.setMaxSites(n);
  }

  close() {
    if (this.server) this.server.close();
    this.server = null;
  }

  /**
   * prom-client: one collector per family in `registry` (default: prom-client's global
   * registry). Each reads leakwatch's state at collect time; nothing is kept in prom-client.
   */
  registerPrometheus(registry) {
    const target = registry || peer('prom-client').register;
    if (!target || typeof target.registerMetric !== 'function') throw leakwatchError('ERR_LEAKWATCH_INVALID_ARG', 'registerPrometheus(registry): a prom-client Registry is needed');
    let cached = null;
    const current = () => {
      if (!cached) {
        // A failure is leakwatch's, reported; the app's scrape goes on without these series.
        cached = new Map(this.safeFamilies().map((f) => [f.name, f]));
        setImmediate(() => (cached = null)); // one read per scrape, not one per family
      }
      return cached;
    };
    const names = [];
    for (const d of native.metricDefinitions()) {
      const metric = {
        name: d.name,
        help: d.help,
        type: d.type,
        aggregator: AGGREGATORS[d.name] || 'sum',
        get: async () => ({ name: d.name, help: d.help, type: d.type, aggregator: metric.aggregator, values: promValues(current().get(d.name)) }),
        reset: () => {},
      };
      target.registerMetric(metric);
      names.push(d.name);
    }
    return names;
  }

  /**
   * OpenTelemetry: observable gauges and counters on `meterProvider` (default: the global one
   * of the app's @opentelemetry/api), read at each collection, and two histograms recorded as
   * snapshots and sampler reads happen.
   */
  registerOpenTelemetry({ meterProvider, version } = {}) {
    const provider = meterProvider || peer('@opentelemetry/api').metrics.getMeterProvider();
    const meter = provider.getMeter('leakwatch', version);
    const observables = new Map();
    const histograms = {};
    for (const d of native.metricDefinitions()) {
      const options = { description: d.help, unit: d.unit };
      if (d.type === 'histogram') {
        const instrument = meter.createHistogram(d.otel, { ...options, advice: { explicitBucketBoundaries: d.buckets } });
        if (d.name === 'leakwatch_snapshot_duration_seconds') histograms.snapshot = instrument;
        else histograms.pause = instrument;
      } else {
        observables.set(d.name, d.type === 'counter' ? meter.createObservableCounter(d.otel, options) : meter.createObservableGauge(d.otel, options));
      }
    }
    this.histograms = histograms;
    meter.addBatchObservableCallback((result) => {
      for (const family of this.safeFamilies()) {
        const instrument = observables.get(family.name);
        if (!instrument) continue;
        for (const sample of family.samples) {
          if (typeof sample.value === 'number') result.observe(instrument, sample.value, Object.fromEntries(sample.labels));
        }
      }
    }, [...observables.values()]);
    return [...observables.keys()].concat(Object.values(histograms).length ? ['leakwatch_snapshot_duration_seconds', 'leakwatch_sampler_read_pause_seconds'] : []);
  }

  stop() {
    this.close();
    if (this.onWorkerRequest) process.removeListener('message', this.onWorkerRequest);
    this.onWorkerRequest = null;
    if (this.onClusterMessage) cluster.removeListener('message', this.onClusterMessage);
    this.onClusterMessage = null;
  }
}

/** A family's samples as prom-client values (histograms as their _bucket/_sum/_count lines). */
function promValues(family) {
  if (!family) return [];
  const values = [];
  for (const sample of family.samples) {
    const labels = Object.fromEntries(sample.labels);
    if (typeof sample.value === 'number') {
      values.push({ labels, value: sample.value });
      continue;
    }
    const h = sample.value;
    let total = 0;
    h.counts.forEach((count, i) => {
      total += count;
      values.push({ metricName: `${family.name}_bucket`, labels: { ...labels, le: i < h.bounds.length ? h.bounds[i] : '+Inf' }, value: total });
    });
    values.push({ metricName: `${family.name}_sum`, labels, value: h.sum });
    values.push({ metricName: `${family.name}_count`, labels, value: h.count });
  }
  return values;
}

module.exports = { MetricsExporter, parseEndpoint, CONTENT_TYPE, DEFAULT_PORT, MAX_SITES };
