// Real headless Chromium for the browser tests and the browser benchmark: Debian's package
// (/usr/bin/chromium), installed with apt-get when missing, driven by playwright-core. Nothing
// here downloads a browser. Plain JavaScript (typed by chromium.d.mts) so that
// bench/browser/run.mjs shares it with the vitest tests on Node 20, which cannot import .ts.
//
// Policy (as for nats-server, scripts/nats-server.mjs): under CI=true a Chromium that
// cannot be installed is a test failure, never a skip; elsewhere the tests skip and print why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// The flags the machine's notes require: without the background-networking ones Chromium
// keeps opening connections that this closed network refuses.
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Path of Debian's chromium, installing it with apt-get when missing; or a reason it cannot be had. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return { bin: CHROMIUM };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) return { reason: `${CHROMIUM} is missing and apt-get (as root) is not available` };
  // Test files run in parallel processes and each may get here: flock makes them install one
  // at a time, and the later ones find it done. apt-get would fail at once on a dpkg lock held
  // by another install (nats-server's, say): it waits instead. A fresh machine may have no
  // package lists yet, hence the update and second try.
  const install = 'apt-get -o DPkg::Lock::Timeout=300 install -y chromium';
  const script = `test -x ${CHROMIUM} || ${install} || { apt-get update && ${install}; }`;
  const hasFlock = spawnSync('sh', ['-c', 'command -v flock'], { stdio: 'ignore' }).status === 0;
  const [cmd, args] = hasFlock ? ['flock', ['/tmp/strata-apt.lock', 'sh', '-c', script]] : ['sh', ['-c', script]];
  const r = spawnSync(cmd, args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
  if (existsSync(CHROMIUM)) return { bin: CHROMIUM };
  return { reason: `apt-get install -y chromium failed (exit ${String(r.status)}${r.error ? `, ${r.error.message}` : ''})` };
}

/**
 * The Chromium binary for a test file, or (outside CI) undefined after printing why the
 * browser tests are skipped; under CI=true it throws instead of skipping.
 */
export function chromiumOrSkip(what) {
  const { bin, reason } = ensureChromium();
  if (bin) return bin;
  const msg = `${what}: Chromium unavailable: ${reason}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI=true: browser tests never skip)`);
  console.warn(`SKIPPED ${msg}`);
  return undefined;
}

/**
 * Launches headless Chromium with CHROMIUM_FLAGS. playwright's launch() gives the browser a
 * fresh temporary --user-data-dir of its own and removes it on close, so no run sees
 * another's profile (or its Origin Private File System).
 */
export async function launchChromium(bin = CHROMIUM) {
  return chromium.launch({ executablePath: bin, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}

/**
 * Opens `url` in a new page of `browser`, failing on uncaught page errors: they are kept in
 * `page.errors` (console errors in `page.consoleErrors`) for assertions and messages.
 */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.errors = [];
  page.consoleErrors = [];
  page.on('pageerror', (err) => page.errors.push(err));
  page.on('console', (msg) => { if (msg.type() === 'error') page.consoleErrors.push(msg.text()); });
  const res = await page.goto(url);
  if (!res?.ok()) throw new Error(`GET ${url}: ${res ? res.status() : 'no response'}`);
  return page;
}
