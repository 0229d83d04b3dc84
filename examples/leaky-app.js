'use strict';
// The leaking app of "Debugging memory leaks in Node": every 5 ms it stores SimpleClass
// objects holding random-number strings in `leakyData` and never lets them go, while
// also making short-lived garbage (`nonLeakyData`) like any busy server.
// Run it under watch with: leakwatch run -- node examples/leaky-app.js

class SimpleClass {
  constructor(text) {
    this.text = text;
  }
}

const leakyData = [];
const PER_TICK = Number(process.env.LEAKY_PER_TICK || 50);

function leakMemory() {
  for (let i = 0; i < PER_TICK; i++) leakyData.push(new SimpleClass(Math.random().toString()));
}

function makeGarbage() {
  const nonLeakyData = [];
  for (let i = 0; i < 200; i++) nonLeakyData.push({ value: Math.random().toString() });
  return nonLeakyData.length;
}

setInterval(() => {
  leakMemory();
  makeGarbage();
}, 5);

process.on('SIGTERM', () => {
  console.log(`leaky-app: stopping with ${leakyData.length} objects in leakyData`);
  process.exit(0);
});
console.log(`leaky-app: pid ${process.pid}, leaking ${PER_TICK} SimpleClass objects every 5 ms`);
