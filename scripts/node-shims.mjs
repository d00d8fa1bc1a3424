// The Node globals tape reads, for test bundles run in a page (injected by
// browser-bundle.mjs). nextTick is a macrotask, as setImmediate is in Node, so a long
// suite lets the page breathe between tests instead of starving it with microtasks.
const queue = [];
const channel = new MessageChannel();
channel.port1.onmessage = () => {
  const [fn, args] = queue.shift();
  fn(...args);
};

// tape names the test file from __dirname when an assert fails: without it the page throws
// there, and the suite never finishes.
export const __dirname = '/';

export const process = {
  env: {},
  argv: [],
  platform: 'browser',
  cwd: () => '/',
  nextTick(fn, ...args) {
    queue.push([fn, args]);
    channel.port2.postMessage(0);
  },
};
