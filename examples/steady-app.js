'use strict';
// A well-behaved app for comparison: the same work as leaky-app.js, nothing retained.

class SimpleClass {
  constructor(text) {
    this.text = text;
  }
}

let processed = 0;
setInterval(() => {
  const batch = [];
  for (let i = 0; i < 50; i++) batch.push(new SimpleClass(Math.random().toString()));
  for (let i = 0; i < 200; i++) batch.push({ value: Math.random().toString() });
  processed += batch.length;
}, 5);

process.on('SIGTERM', () => {
  console.log(`steady-app: stopping after ${processed} objects`);
  process.exit(0);
});
console.log(`steady-app: pid ${process.pid}`);
