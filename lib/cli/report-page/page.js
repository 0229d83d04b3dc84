/* report.html's script, inlined into the page by lib/cli/html-report.js (allowed by hash in
 * its Content-Security-Policy). It draws the memory timeline and the flame graph from the
 * JSON the page embeds. Every text from the data goes in through textContent or an
 * attribute value set with setAttribute, never as markup. */
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var data;

  // ---- helpers --------------------------------------------------------------------------

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function s(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, String(attrs[k]));
    });
  }
  function append(node, children) {
    if (children === null || children === undefined) return;
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  var KB = 1024;
  var MB = KB * 1024;
  var GB = MB * 1024;
  /** Sizes as leakwatch prints them (crates/core/src/format.rs: "4.77 mb"). */
  function bytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return '—';
    var sign = n < 0 ? '-' : '';
    var m = Math.abs(n);
    if (m >= GB) return sign + (m / GB).toFixed(2) + ' gb';
    if (m > MB) return sign + (m / MB).toFixed(2) + ' mb';
    if (m > KB) return sign + (m / KB).toFixed(2) + ' kb';
    return sign + Math.round(m) + ' bytes';
  }
  /** Axis labels: "12 mb", "1.5 gb". */
  function shortBytes(n) {
    var units = [
      [GB, ' gb'],
      [MB, ' mb'],
      [KB, ' kb'],
    ];
    for (var i = 0; i < units.length; i++) {
      if (n >= units[i][0]) {
        var v = n / units[i][0];
        return (v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')) + units[i][1];
      }
    }
    return Math.round(n) + ' b';
  }
  /** A time since the process started: "850 ms", "14 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
  function duration(ms) {
    if (!isFinite(ms)) return '?';
    if (ms === 0) return '0 s';
    var sec = ms / 1000;
    if (Math.abs(sec) < 1) return Math.round(ms) + ' ms';
    if (sec < 10) return sec.toFixed(1).replace(/\.0$/, '') + ' s';
    if (sec < 60) return Math.round(sec) + ' s';
    var units = [
      [86400, 'd'],
      [3600, 'h'],
      [60, 'min'],
      [1, 's'],
    ];
    var rest = Math.round(sec);
    var out = [];
    for (var i = 0; i < units.length && out.length < 2; i++) {
      if (rest >= units[i][0] || out.length) {
        out.push(Math.floor(rest / units[i][0]) + ' ' + units[i][1]);
        rest %= units[i][0];
      }
    }
    return out
      .filter(function (p) {
        return p.indexOf('0 ') !== 0;
      })
      .join(' ');
  }
  function percent(part, whole) {
    if (!whole) return '';
    var p = (100 * part) / whole;
    return (p >= 10 ? p.toFixed(0) : p.toFixed(1)) + ' %';
  }
  /** First index with t[i] >= value. */
  function lowerBound(t, value) {
    var lo = 0;
    var hi = t.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (t[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Round tick steps: 1, 2, 5 × 10^k. */
  function niceStep(range, count) {
    var raw = range / Math.max(1, count);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  var TIME_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5];
  function timeStep(range, count) {
    var raw = range / Math.max(1, count);
    for (var i = 0; i < TIME_STEPS.length; i++) if (TIME_STEPS[i] >= raw) return TIME_STEPS[i];
    return TIME_STEPS[TIME_STEPS.length - 1];
  }

  // ---- the memory timeline --------------------------------------------------------------

  var SERIES = {
    heap: 'heap used after GC',
    baseline: "detector's baseline",
    external: 'external',
    arrayBuffers: 'arrayBuffers',
    rss: 'RSS',
  };
  var MARK_SYMBOL = { snapshot: '◆', leak: '▲', withdrawn: '✓', pressure: '!' };

  function Chart(root, controls, tip, timeline) {
    this.root = root;
    this.controls = controls;
    this.tip = tip;
    this.tl = timeline;
    this.t = timeline.t;
    var end = Math.max(this.t.length ? this.t[this.t.length - 1] : 0, timeline.spanMs || 0);
    var begin = this.t.length ? Math.min(0, this.t[0]) : 0;
    if (end <= begin) end = begin + 1000;
    this.full = { from: begin, to: end };
    this.view = { from: begin, to: end };
    this.visible = { heap: true, baseline: true, external: true, arrayBuffers: true, rss: true };
    this.scaleToLimits = false;
    this.cursor = null; // index into t
    this.panels = [
      { title: 'JS heap after each full GC', keys: ['heap', 'baseline', 'external', 'arrayBuffers'], limit: timeline.limits.heap, limitLabel: 'heap limit', height: 250 },
      { title: 'Process memory (RSS)', keys: ['rss'], limit: timeline.limits.container, limitLabel: 'container limit', height: 130 },
    ];
    this.buildControls();
    this.bind();
  }

  Chart.prototype.lo = function (key, i) {
    var s = this.tl.series[key];
    return s.v ? s.v[i] : s.lo[i];
  };
  Chart.prototype.hi = function (key, i) {
    var s = this.tl.series[key];
    return s.v ? s.v[i] : s.hi[i];
  };

  Chart.prototype.buildControls = function () {
    var self = this;
    var c = this.controls;
    clear(c);
    Object.keys(SERIES).forEach(function (key) {
      var box = h('input', { type: 'checkbox', id: 'series-' + key });
      box.checked = self.visible[key];
      box.addEventListener('change', function () {
        self.visible[key] = box.checked;
        self.render();
      });
      var swatch = s('svg', { width: 26, height: 10, 'aria-hidden': 'true' }, s('line', { x1: 1, y1: 5, x2: 25, y2: 5, class: 's-' + key }));
      c.appendChild(h('label', { for: 'series-' + key }, [box, swatch, SERIES[key]]));
    });
    if (this.tl.limits.heap || this.tl.limits.container) {
      var limits = h('input', { type: 'checkbox', id: 'scale-limits' });
      limits.addEventListener('change', function () {
        self.scaleToLimits = limits.checked;
        self.render();
      });
      c.appendChild(h('label', { for: 'scale-limits' }, [limits, 'scale to the limits']));
    }
    var zoomIn = h('button', { type: 'button', id: 'zoom-in' }, 'Zoom in');
    var zoomOut = h('button', { type: 'button', id: 'zoom-out' }, 'Zoom out');
    var reset = h('button', { type: 'button', id: 'zoom-reset' }, 'Whole run');
    zoomIn.addEventListener('click', function () {
      self.zoom(0.5);
    });
    zoomOut.addEventListener('click', function () {
      self.zoom(2);
    });
    reset.addEventListener('click', function () {
      self.setView(self.full.from, self.full.to);
    });
    this.rangeText = h('span', { class: 'range', 'aria-live': 'polite' });
    c.appendChild(zoomIn);
    c.appendChild(zoomOut);
    c.appendChild(reset);
    c.appendChild(this.rangeText);
    c.hidden = false;
  };

  Chart.prototype.zoom = function (factor, centre) {
    var mid = centre !== undefined ? centre : this.cursor !== null ? this.t[this.cursor] : (this.view.from + this.view.to) / 2;
    var half = ((this.view.to - this.view.from) * factor) / 2;
    this.setView(mid - half, mid + half);
  };

  Chart.prototype.setView = function (from, to) {
    var full = this.full;
    var span = Math.min(full.to - full.from, Math.max(to - from, 10));
    if (from < full.from) from = full.from;
    if (from + span > full.to) from = full.to - span;
    this.view = { from: from, to: from + span };
    this.render();
  };

  Chart.prototype.bind = function () {
    var self = this;
    var root = this.root;
    root.setAttribute('tabindex', '0');
    root.setAttribute('role', 'group');
    root.setAttribute('aria-roledescription', 'chart');
    root.setAttribute('aria-label', 'Memory timeline. Arrow keys move between samples, + and - zoom, Page Up and Page Down pan, 0 shows the whole run. Drag with the mouse to zoom on a range.');
    root.addEventListener('keydown', function (e) {
      var n = self.t.length;
      if (!n) return;
      var range = self.indexRange();
      var handled = true;
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        var step = e.key === 'ArrowRight' ? 1 : -1;
        var at = self.cursor === null || self.cursor < range[0] || self.cursor >= range[1] ? (step > 0 ? range[0] : range[1] - 1) : self.cursor + step;
        self.cursor = Math.max(range[0], Math.min(range[1] - 1, at));
        self.drawOverlay();
      } else if (e.key === 'Home' || e.key === 'End') {
        self.cursor = e.key === 'Home' ? range[0] : range[1] - 1;
        self.drawOverlay();
      } else if (e.key === '+' || e.key === '=') self.zoom(0.5);
      else if (e.key === '-' || e.key === '_') self.zoom(2);
      else if (e.key === '0' || e.key === 'Escape') self.setView(self.full.from, self.full.to);
      else if (e.key === 'PageUp' || e.key === 'PageDown') {
        var shift = (self.view.to - self.view.from) * (e.key === 'PageDown' ? 0.5 : -0.5);
        self.setView(self.view.from + shift, self.view.to + shift);
      } else handled = false;
      if (handled) e.preventDefault();
    });
  };

  /** [first, end) indexes of the samples in view. */
  Chart.prototype.indexRange = function () {
    return [lowerBound(this.t, this.view.from), lowerBound(this.t, this.view.to + 1e-9)];
  };

  /**
   * Per pixel column of the plot (width w): the lowest and highest value of each series in
   * view, as `plot` draws a long run. Returns {cols: [{x, i, lo: {}, hi: {}}], count}.
   */
  Chart.prototype.columns = function (w) {
    var range = this.indexRange();
    var span = this.view.to - this.view.from;
    var keys = Object.keys(SERIES);
    var cols = [];
    var last = null;
    for (var i = range[0]; i < range[1]; i++) {
      var x = Math.min(w, Math.max(0, ((this.t[i] - this.view.from) / span) * w));
      var c = Math.round(x);
      if (!last || last.c !== c) {
        last = { c: c, x: x, i: i, lo: {}, hi: {} };
        cols.push(last);
      }
      for (var k = 0; k < keys.length; k++) {
        var lo = this.lo(keys[k], i);
        var hi = this.hi(keys[k], i);
        if (lo === null || lo === undefined) continue;
        if (last.lo[keys[k]] === undefined || lo < last.lo[keys[k]]) last.lo[keys[k]] = lo;
        if (last.hi[keys[k]] === undefined || hi > last.hi[keys[k]]) last.hi[keys[k]] = hi;
      }
    }
    return { cols: cols, count: range[1] - range[0], range: range };
  };

  Chart.prototype.render = function () {
    var self = this;
    var width = Math.max(480, Math.round(this.root.clientWidth || 900));
    var left = 64;
    var right = 16;
    var top = 30;
    var gap = 26;
    var bottom = 34;
    var w = width - left - right;
    var height = top + this.panels.reduce(function (n, p) {
      return n + p.height + gap;
    }, 0) + bottom - gap;
    var view = this.view;
    var span = view.to - view.from;
    var xOf = function (t) {
      return left + ((t - view.from) / span) * w;
    };
    var cols = this.columns(w);
    var svgNode = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width: width, height: height, 'aria-hidden': 'true', focusable: 'false' });
    var drawnSamples = 0;
    var y0 = top;
    this.layout = { left: left, w: w, top: top, height: height, panels: [] };

    this.panels.forEach(function (panel, p) {
      var g = s('g', { class: 'panel', 'data-panel': p });
      var keys = panel.keys.filter(function (k) {
        return self.visible[k];
      });
      var max = 0;
      cols.cols.forEach(function (col) {
        keys.forEach(function (k) {
          if (col.hi[k] !== undefined && col.hi[k] > max) max = col.hi[k];
        });
      });
      if (self.scaleToLimits && panel.limit) max = Math.max(max, panel.limit);
      if (max <= 0) max = 1;
      var step = niceStep(max * 1.05, 4);
      var yMax = Math.ceil((max * 1.05) / step) * step;
      var yOf = function (v) {
        return y0 + panel.height - (v / yMax) * panel.height;
      };
      self.layout.panels.push({ y0: y0, height: panel.height, yMax: yMax });
      g.appendChild(s('text', { x: left, y: y0 - 8, class: 'panel-title' }, panel.title));
      for (var v = 0; v <= yMax + 1e-6; v += step) {
        var y = yOf(v);
        g.appendChild(s('line', { x1: left, x2: left + w, y1: y, y2: y, class: 'grid' }));
        g.appendChild(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, shortBytes(v)));
      }
      g.appendChild(s('line', { x1: left, x2: left, y1: y0, y2: y0 + panel.height, class: 'axis' }));
      g.appendChild(s('line', { x1: left, x2: left + w, y1: y0 + panel.height, y2: y0 + panel.height, class: 'axis' }));
      if (panel.limit) {
        if (panel.limit <= yMax) {
          g.appendChild(s('line', { x1: left, x2: left + w, y1: yOf(panel.limit), y2: yOf(panel.limit), class: 'limit' }));
          g.appendChild(s('text', { x: left + w - 4, y: yOf(panel.limit) - 4, 'text-anchor': 'end' }, panel.limitLabel + ' ' + bytes(panel.limit)));
        } else {
          g.appendChild(s('text', { x: left + w - 4, y: y0 + 12, 'text-anchor': 'end' }, panel.limitLabel + ' ' + bytes(panel.limit) + ' (above the scale)'));
        }
      }
      keys.forEach(function (k) {
        var d = '';
        cols.cols.forEach(function (col) {
          if (col.lo[k] === undefined) return;
          var x = (left + col.x).toFixed(1);
          var yHi = yOf(col.hi[k]).toFixed(1);
          var yLo = yOf(col.lo[k]).toFixed(1);
          d += (d ? 'L' : 'M') + x + ' ' + yHi;
          if (yLo !== yHi) d += 'L' + x + ' ' + yLo;
        });
        if (d) g.appendChild(s('path', { d: d, class: 's-' + k, 'data-series': k }));
      });
      // Each sample of the heap, while there is room to tell them apart.
      if (p === 0 && self.visible.heap && !self.tl.downsampled && cols.count <= w / 3) {
        for (var i = cols.range[0]; i < cols.range[1]; i++) {
          var value = self.lo('heap', i);
          if (value === null) continue;
          g.appendChild(s('circle', { cx: xOf(self.t[i]).toFixed(1), cy: yOf(value).toFixed(1), r: 3, class: 'sample', 'data-i': i }));
          drawnSamples += 1;
        }
      }
      svgNode.appendChild(g);
      y0 += panel.height + gap;
    });

    // Time axis.
    var axisY = height - bottom;
    var tStep = timeStep(span, Math.max(2, Math.floor(w / 110)));
    for (var tt = Math.ceil(view.from / tStep) * tStep; tt <= view.to; tt += tStep) {
      var x = xOf(tt);
      svgNode.appendChild(s('line', { x1: x, x2: x, y1: axisY, y2: axisY + 4, class: 'axis' }));
      svgNode.appendChild(s('text', { x: x, y: axisY + 16, 'text-anchor': 'middle' }, duration(tt)));
    }
    svgNode.appendChild(s('text', { x: left + w, y: height - 2, 'text-anchor': 'end' }, 'time since the process started'));

    // Snapshot, verdict and pressure marks, across both panels; labels on two rows.
    var marks = (this.tl.marks || []).filter(function (m) {
      return m.tMs >= view.from && m.tMs <= view.to;
    });
    var lastX = [-Infinity, -Infinity];
    marks.forEach(function (m) {
      var x = xOf(m.tMs);
      svgNode.appendChild(s('line', { x1: x, x2: x, y1: top - 2, y2: axisY, class: 'mark mark-' + m.kind, 'data-kind': m.kind }));
      var label = (MARK_SYMBOL[m.kind] || '') + ' ' + m.label;
      var labelWidth = label.length * 6.2 + 6;
      // Near the right edge a label ends at its line instead of starting there.
      var atEnd = x + labelWidth > left + w + right;
      var from = atEnd ? x - labelWidth : x;
      var row = from - lastX[0] > 0 ? 0 : from - lastX[1] > 0 ? 1 : -1;
      if (row >= 0) {
        lastX[row] = from + labelWidth;
        svgNode.appendChild(s('text', { x: atEnd ? x - 3 : x + 3, y: row === 0 ? 10 : 21, 'text-anchor': atEnd ? 'end' : 'start', class: 'mark-label mark-' + m.kind }, label));
      }
    });

    // The cursor and the selection are drawn on a layer of their own: moving them redraws nothing else.
    this.overlay = s('g', { class: 'overlay' });
    svgNode.appendChild(this.overlay);
    this.layout.axisY = axisY;
    this.layout.xOf = xOf;
    this.layout.range = cols.range;

    clear(this.root);
    this.root.appendChild(svgNode);
    this.root.setAttribute('data-drawn-samples', String(drawnSamples));
    this.root.setAttribute('data-in-view', String(cols.count));
    this.svg = svgNode;
    this.bindPointer(svgNode);
    this.drawOverlay();
    var whole = view.from <= this.full.from && view.to >= this.full.to;
    this.rangeText.textContent =
      (whole ? 'whole run: ' : 'showing ') +
      duration(view.from) +
      ' – ' +
      duration(view.to) +
      ', ' +
      cols.count +
      (this.tl.downsampled ? ' buckets' : ' samples') +
      (this.tl.downsampled || drawnSamples ? '' : ' (zoom in to see each sample)');
  };

  /** The cursor (hover or keyboard) and the range being selected, with the values under the cursor. */
  Chart.prototype.drawOverlay = function () {
    var layer = this.overlay;
    var l = this.layout;
    clear(layer);
    if (this.cursor !== null && this.cursor >= l.range[0] && this.cursor < l.range[1]) {
      var cx = l.xOf(this.t[this.cursor]);
      layer.appendChild(s('line', { x1: cx, x2: cx, y1: l.top - 2, y2: l.axisY, class: 'cursor' }));
      var first = l.panels[0];
      var hv = this.lo('heap', this.cursor);
      if (hv !== null && this.visible.heap) layer.appendChild(s('circle', { cx: cx, cy: first.y0 + first.height - (hv / first.yMax) * first.height, r: 5, class: 'hover' }));
    }
    if (this.selection) {
      var a = Math.max(l.left, Math.min(this.selection.a, this.selection.b));
      var b = Math.min(l.left + l.w, Math.max(this.selection.a, this.selection.b));
      layer.appendChild(s('rect', { x: a, y: l.top, width: Math.max(0, b - a), height: l.axisY - l.top, class: 'selection' }));
    }
    this.describe();
  };

  Chart.prototype.bindPointer = function (svgNode) {
    var self = this;
    var toX = function (e) {
      var box = svgNode.getBoundingClientRect();
      return ((e.clientX - box.left) / box.width) * Number(svgNode.getAttribute('width'));
    };
    var toT = function (x) {
      return self.view.from + ((x - self.layout.left) / self.layout.w) * (self.view.to - self.view.from);
    };
    svgNode.addEventListener('mousemove', function (e) {
      var x = toX(e);
      if (self.dragging) {
        self.selection.b = x;
        self.drawOverlay();
        return;
      }
      var range = self.indexRange();
      if (range[1] <= range[0]) return;
      var t = toT(x);
      var i = Math.max(range[0], Math.min(range[1] - 1, lowerBound(self.t, t)));
      if (i > range[0] && Math.abs(self.t[i - 1] - t) < Math.abs(self.t[i] - t)) i -= 1;
      if (i !== self.cursor) {
        self.cursor = i;
        self.drawOverlay();
      }
    });
    svgNode.addEventListener('mousedown', function (e) {
      if (e.button !== 0) return;
      self.dragging = true;
      self.selection = { a: toX(e), b: toX(e) };
      e.preventDefault();
    });
    svgNode.addEventListener('mouseup', function (e) {
      if (!self.dragging) return;
      self.dragging = false;
      var sel = self.selection;
      self.selection = null;
      if (Math.abs(sel.b - sel.a) >= 4) self.setView(toT(Math.min(sel.a, sel.b)), toT(Math.max(sel.a, sel.b)));
      else self.drawOverlay();
    });
  };

  /** The tooltip line: the values of the sample (or bucket) under the cursor. */
  Chart.prototype.describe = function () {
    var i = this.cursor;
    if (i === null) {
      this.tip.textContent = 'Hover over the chart (or focus it and use the arrow keys) to read the values; drag to zoom on a range.';
      return;
    }
    var self = this;
    var tl = this.tl;
    var at = tl.n ? 'bucket of ' + tl.n[i] + ' samples from ' + duration(this.t[i]) : duration(this.t[i]);
    var when = data.process && data.process.startedAt ? new Date(Date.parse(data.process.startedAt) + this.t[i]).toISOString() : '';
    var parts = Object.keys(SERIES).map(function (k) {
      var lo = self.lo(k, i);
      var hi = self.hi(k, i);
      return SERIES[k] + ' ' + (lo === hi ? bytes(lo) : bytes(lo) + '–' + bytes(hi));
    });
    this.tip.textContent = 'At ' + at + (when ? ' (' + when + ')' : '') + ': ' + parts.join(', ');
  };

  // ---- the flame graph ------------------------------------------------------------------

  var KIND_LABEL = { app: 'app code', dependency: 'node_modules', internal: 'Node internals', engine: 'V8 (engine)', root: 'all frames' };
  var ROW = 20;

  function Flame(root, controls, tip, sites) {
    this.root = root;
    this.controls = controls;
    this.tip = tip;
    this.sites = sites;
    this.tree = sites.flame.root;
    this.mode = 'v';
    this.focus = [this.tree];
    this.hasGrowth = this.tree.g > 0;
    this.buildControls();
  }

  Flame.prototype.buildControls = function () {
    var self = this;
    var c = this.controls;
    clear(c);
    var legend = h('span', { class: 'legend' });
    ['app', 'dependency', 'internal', 'engine'].forEach(function (k) {
      legend.appendChild(h('span', { class: 'legend-item' }, [h('span', { class: 'swatch k-' + k, 'aria-hidden': 'true' }), ' ' + KIND_LABEL[k] + ' ']));
    });
    c.appendChild(legend);
    if (this.hasGrowth) {
      var group = h('span', { role: 'radiogroup', 'aria-label': 'Width of a frame' }, 'Width: ');
      [
        ['v', 'live bytes'],
        ['g', 'growth'],
      ].forEach(function (m) {
        var input = h('input', { type: 'radio', name: 'flame-width', id: 'flame-width-' + m[0], value: m[0] });
        input.checked = self.mode === m[0];
        input.addEventListener('change', function () {
          if (input.checked) {
            self.mode = m[0];
            self.focus = [self.tree];
            self.render();
          }
        });
        group.appendChild(h('label', { for: 'flame-width-' + m[0] }, [input, m[1]]));
      });
      c.appendChild(group);
    }
    this.back = h('button', { type: 'button', id: 'flame-reset' }, 'All frames');
    this.back.hidden = true;
    this.back.addEventListener('click', function () {
      self.focus = [self.tree];
      self.render();
    });
    c.appendChild(this.back);
    c.hidden = false;
  };

  Flame.prototype.describe = function (node) {
    var total = this.tree[this.mode];
    var text = node.n + (node.l ? ' — ' + node.l : '') + ' — ' + KIND_LABEL[node.k] + ' — ' + bytes(node.v) + ' live (' + percent(node.v, this.tree.v) + ')';
    if (this.hasGrowth) text += ', ' + (node.g > 0 ? '+' + bytes(node.g) : 'no growth') + (this.sites.growthFrom ? ' since the first profile' : ' in the window');
    if (this.mode === 'g' && total) text += ' (' + percent(node.g, total) + ' of the growth)';
    return text;
  };

  Flame.prototype.render = function () {
    var self = this;
    var mode = this.mode;
    var width = Math.max(480, Math.round(this.root.clientWidth || 900));
    var top = this.focus[this.focus.length - 1];
    var rows = [];
    var frames = 0;
    // Ancestors of the frame zoomed into, full width, then its subtree.
    var layout = function (node, x, w, depth) {
      if (w < 0.5 || !(node[mode] > 0)) return;
      (rows[depth] = rows[depth] || []).push({ node: node, x: x, w: w });
      frames += 1;
      var at = x;
      node.c.forEach(function (child) {
        var cw = (child[mode] / node[mode]) * w;
        layout(child, at, cw, depth + 1);
        at += cw;
      });
    };
    this.focus.slice(0, -1).forEach(function (node, d) {
      rows[d] = [{ node: node, x: 0, w: width, ancestor: true }];
      frames += 1;
    });
    layout(top, 0, width, this.focus.length - 1);
    var height = Math.max(1, rows.length) * ROW + 2;
    var svgNode = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width: width, height: height });
    var defs = s('defs');
    defs.appendChild(
      s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, s('rect', { x: 0, y: 0, width: 2.5, height: 6, fill: 'rgba(255,255,255,0.75)' })),
    );
    defs.appendChild(s('pattern', { id: 'dots', width: 5, height: 5, patternUnits: 'userSpaceOnUse' }, s('circle', { cx: 2.5, cy: 2.5, r: 1.1, fill: 'rgba(255,255,255,0.85)' })));
    svgNode.appendChild(defs);
    rows.forEach(function (row, depth) {
      row.forEach(function (item) {
        var node = item.node;
        var y = depth * ROW + 1;
        var g = s('g', {
          class: 'frame k-' + node.k,
          tabindex: item.w >= 3 ? 0 : null,
          role: 'button',
          'aria-label': self.describe(node),
          'data-kind': node.k,
          'data-name': node.n,
          'data-top': node === top ? 'true' : null,
        });
        g.appendChild(s('rect', { class: 'box', x: item.x.toFixed(2), y: y, width: Math.max(0.5, item.w - 0.5).toFixed(2), height: ROW - 2 }));
        if (node.k === 'dependency' || node.k === 'internal') g.appendChild(s('rect', { class: 'pattern', x: item.x.toFixed(2), y: y, width: Math.max(0.5, item.w - 0.5).toFixed(2), height: ROW - 2 }));
        if (mode === 'v' && node.g > 0 && node.v > 0) {
          var gw = Math.min(1, node.g / node.v) * (item.w - 0.5);
          g.appendChild(s('rect', { class: 'grew', x: item.x.toFixed(2), y: y + ROW - 6, width: Math.max(0, gw).toFixed(2), height: 4 }));
        }
        var chars = Math.floor((item.w - 6) / 6.3);
        if (chars >= 3) {
          var label = node.n;
          if (label.length > chars) label = label.slice(0, chars - 1) + '…';
          g.appendChild(s('text', { x: (item.x + 3).toFixed(2), y: y + 13 }, label));
        }
        g.appendChild(s('title', null, self.describe(node)));
        var pick = function () {
          // The zoomed-into frame zooms out one level; an ancestor row goes back to it;
          // any other frame is zoomed into.
          var at = self.focus.indexOf(node);
          if (node === top) self.focus = self.focus.length > 1 ? self.focus.slice(0, -1) : self.focus;
          else if (at >= 0) self.focus = self.focus.slice(0, at + 1);
          else self.focus = self.focus.concat(self.pathTo(top, node));
          self.render();
          var now = self.focus[self.focus.length - 1];
          self.tip.textContent = self.describe(now);
          var again = self.root.querySelector('g.frame[data-top="true"]');
          if (again) again.focus();
        };
        g.addEventListener('click', pick);
        g.addEventListener('keydown', function (e) {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            pick();
          }
        });
        var show = function () {
          self.tip.textContent = self.describe(node);
        };
        g.addEventListener('mouseenter', show);
        g.addEventListener('focus', show);
        svgNode.appendChild(g);
      });
    });
    clear(this.root);
    this.root.appendChild(svgNode);
    this.root.setAttribute('data-frames', String(frames));
    this.back.hidden = this.focus.length === 1;
    if (!this.tip.textContent) this.tip.textContent = 'Hover over a frame, or focus one with Tab, to read it.';
  };

  /** The frames from `from` (exclusive) down to `to` (inclusive). */
  Flame.prototype.pathTo = function (from, to) {
    var found = null;
    var walk = function (node, trail) {
      if (found) return;
      if (node === to) {
        found = trail;
        return;
      }
      node.c.forEach(function (child) {
        walk(child, trail.concat([child]));
      });
    };
    walk(from, []);
    return found || [];
  };

  // ---- start ----------------------------------------------------------------------------

  function fail(where, error) {
    var message = 'leakwatch report: cannot draw the ' + where + ': ' + (error && error.message ? error.message : error);
    console.error(message);
    var box = document.getElementById(where === 'chart' ? 'chart' : 'flame');
    if (box) {
      clear(box);
      box.appendChild(h('p', { class: 'error' }, message));
    }
  }

  try {
    data = JSON.parse(document.getElementById('leakwatch-data').textContent);
  } catch (error) {
    console.error('leakwatch report: the embedded data does not parse: ' + error.message);
    return;
  }
  var views = [];
  if (data.timeline && document.getElementById('chart')) {
    try {
      var chart = new Chart(document.getElementById('chart'), document.getElementById('chart-controls'), document.getElementById('chart-tip'), data.timeline);
      chart.render();
      views.push(chart);
    } catch (error) {
      fail('chart', error);
    }
  }
  if (data.sites && data.sites.flame && document.getElementById('flame')) {
    try {
      var flame = new Flame(document.getElementById('flame'), document.getElementById('flame-controls'), document.getElementById('flame-tip'), data.sites);
      flame.render();
      views.push(flame);
    } catch (error) {
      fail('flame graph', error);
    }
  }
  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      views.forEach(function (v) {
        v.render();
      });
    });
  });
  document.documentElement.setAttribute('data-report-ready', 'true');
  if (window.performance && performance.mark) performance.mark('leakwatch-report-drawn');
})();
