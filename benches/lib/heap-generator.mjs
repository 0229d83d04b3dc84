// Child process of snapshots.mjs: builds a heap of many small objects, strings, arrays,
// closures and maps of mixed classes, then writes one V8 heap snapshot of it.
//
//   node --max-old-space-size=N benches/lib/heap-generator.mjs UNITS OUT.heapsnapshot
//
// One "unit" is roughly one class instance plus a share of strings/arrays/closures/maps,
// so the snapshot size grows linearly with UNITS (snapshots.mjs calibrates the slope).
// Deterministic: the same UNITS gives the same shape of heap.
import v8 from 'node:v8';

const units = Number(process.argv[2]);
const out = process.argv[3];
if (!Number.isInteger(units) || units < 0 || !out) {
  console.error('usage: heap-generator.mjs UNITS OUT');
  process.exit(2);
}

class Order { constructor(i, prev) { this.id = i; this.total = i % 977; this.prev = prev; } }
class Customer { constructor(i, prev) { this.id = i; this.name = null; this.prev = prev; } }
class Session { constructor(i, prev) { this.id = i; this.expires = i * 3; this.prev = prev; } }
class LineItem { constructor(i, prev) { this.sku = i % 4099; this.qty = i & 7; this.prev = prev; } }
class Invoice { constructor(i, prev) { this.no = i; this.paid = (i & 1) === 0; this.prev = prev; } }
class CacheEntry { constructor(i, prev) { this.key = null; this.hits = i % 31; this.prev = prev; } }
class Token { constructor(i, prev) { this.value = i; this.prev = prev; } }
class RequestContext { constructor(i, prev) { this.id = i; this.started = i; this.parent = prev; } }
class ResponseChunk { constructor(i, prev) { this.seq = i; this.len = i % 1500; this.prev = prev; } }
class Product { constructor(i, prev) { this.code = i; this.price = i % 10007; this.prev = prev; } }
class Address { constructor(i, prev) { this.zip = i % 99991; this.line = null; this.prev = prev; } }
class ListenerRecord { constructor(i, prev) { this.n = i; this.once = false; this.prev = prev; } }
const CLASSES = [Order, Customer, Session, LineItem, Invoice, CacheEntry, Token, RequestContext, ResponseChunk, Product, Address, ListenerRecord];
const PREFIXES = ['ord', 'cus', 'ses', 'itm', 'inv', 'key', 'tok', 'req', 'res', 'prd', 'adr', 'lst'];

const keep = [];
let chunk = [];
let prev = null;
for (let i = 0; i < units; i++) {
  const k = i % CLASSES.length;
  const obj = new CLASSES[k](i, (i & 15) === 0 ? null : prev);
  // Short unique strings (sequential one-byte strings); every 8th a longer cons string.
  const s = PREFIXES[k] + i.toString(36);
  if (k === 1) obj.name = s;
  else if (k === 5) obj.key = s;
  else if (k === 10) obj.line = s;
  else chunk.push(s);
  if ((i & 7) === 3) chunk.push('payload:' + PREFIXES[k] + ':' + i.toString(16) + ':' + 'x'.repeat(i & 15));
  if ((i & 3) === 1) chunk.push([i, s, obj]);                     // (array) + Array
  if ((i & 15) === 5) { const v = i; chunk.push(() => v + 1); }   // (closure) + context
  if ((i & 63) === 9) chunk.push(new Map([[i, obj]]));            // Map + hash table
  if ((i & 31) === 17) chunk.push({ plain: i, tag: s });          // Object
  chunk.push(obj);
  prev = obj;
  if (chunk.length >= 8192) { keep.push(chunk); chunk = []; }
}
keep.push(chunk);
globalThis.__leakwatchBenchHeap = keep;

const t = Date.now();
v8.writeHeapSnapshot(out);
console.log(JSON.stringify({ units, out, snapshotMs: Date.now() - t }));
