// Real nats-server processes for the NATS tests and examples: install (Debian package) when
// missing, start on 127.0.0.1 with JetStream and a temporary store directory on free ports,
// one node or a 3-node cluster, and stop them by PID. Plain JavaScript (typed by
// nats-server.d.mts) so that examples share it with the vitest tests.
//
// Policy (docs/SCALING.md, "Testing"): under CI=true a missing nats-server that cannot be
// installed is a failure, never a skip; elsewhere the tests skip and print why.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Path of nats-server, installing it with apt-get when missing; undefined plus a reason when it cannot. */
export function ensureNatsServer() {
  const found = which('nats-server');
  if (found) return { bin: found };
  // Debian installs it in /usr/sbin, which a non-login PATH may lack.
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server']) if (existsSync(p)) return { bin: p };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !which('apt-get')) return { reason: 'nats-server is not installed and apt-get (as root) is not available' };
  // Test files run in parallel and the Chromium tests install too: one install at a time
  // (the lock scripts/chromium.mjs takes), and apt-get waits for a dpkg lock held by
  // anyone else instead of failing at once. A fresh machine may lack package lists: update.
  const install = 'apt-get -o DPkg::Lock::Timeout=300 install -y nats-server';
  const script = `command -v nats-server >/dev/null || test -x /usr/sbin/nats-server || ${install} || { apt-get update && ${install}; }`;
  const opts = { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 };
  const r = which('flock') ? spawnSync('flock', ['/tmp/strata-apt.lock', 'sh', '-c', script], opts) : spawnSync('sh', ['-c', script], opts);
  for (const p of [which('nats-server'), '/usr/sbin/nats-server', '/usr/bin/nats-server']) if (p && existsSync(p)) return { bin: p };
  return { reason: `apt-get install -y nats-server failed (exit ${String(r.status)})` };
}

/**
 * Resolves the server binary for a test file: returns it, or (outside CI) prints why the
 * NATS tests are skipped and returns undefined; under CI=true it throws instead of skipping.
 */
export function natsServerOrSkip(what) {
  const { bin, reason } = ensureNatsServer();
  if (bin) return bin;
  const msg = `${what}: nats-server unavailable: ${reason}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI=true: NATS tests never skip)`);
  console.warn(`SKIPPED ${msg}`);
  return undefined;
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const out = r.stdout?.trim();
  return r.status === 0 && out ? out : undefined;
}

/** A free TCP port on 127.0.0.1 (bound then released; the race is harmless in tests). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `size` nodes (1 = a single server, 3 = a JetStream cluster) with JetStream on loopback. */
export async function startNats(bin, size = 1) {
  const root = mkdtempSync(join(tmpdir(), 'strata-nats-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clusterPorts = size > 1 ? await Promise.all(Array.from({ length: size }, () => freePort())) : [];
  const nodes = ports.map((port, i) => {
    const name = `n${i}`;
    const storeDir = join(root, name);
    const lines = [
      `server_name: ${name}`,
      `host: 127.0.0.1`,
      `port: ${port}`,
      `jetstream { store_dir: "${storeDir}", max_memory_store: 64MB, max_file_store: 2GB }`,
    ];
    if (size > 1) {
      const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
      lines.push(`cluster { name: strata, listen: "127.0.0.1:${clusterPorts[i]}", routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`);
    }
    const config = join(root, `${name}.conf`);
    writeFileSync(config, lines.join('\n') + '\n');
    return { name, port, url: `nats://127.0.0.1:${port}`, process: undefined, pid: 0, storeDir, config, log: [] };
  });

  const launch = async (node) => {
    const child = spawn(bin, ['-c', node.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    node.process = child;
    node.pid = child.pid;
    const keep = (b) => { node.log.push(...b.toString().split('\n').filter(Boolean)); if (node.log.length > 400) node.log.splice(0, node.log.length - 400); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', () => { if (node.process === child) node.process = undefined; });
    await waitForPort(node.port, 10_000, () => node.process === undefined ? node.log.slice(-20).join('\n') : undefined);
  };

  const cluster = {
    nodes,
    servers: nodes.map((n) => n.url),
    async kill(node) {
      const p = node.process;
      if (!p) return;
      const exited = new Promise((r) => p.once('exit', () => r()));
      process.kill(node.pid, 'SIGKILL');
      await exited;
    },
    async restart(node) { await launch(node); },
    async stop() {
      await Promise.all(nodes.map(async (n) => {
        const p = n.process;
        if (!p) return;
        const exited = new Promise((r) => p.once('exit', () => r()));
        try { process.kill(n.pid, 'SIGTERM'); } catch { return; }
        const t = setTimeout(() => { try { process.kill(n.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
        await exited;
        clearTimeout(t);
      }));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map(launch));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function waitForPort(port, timeoutMs, dead) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = dead();
    if (why !== undefined) throw new Error(`nats-server on port ${port} exited:\n${why}`);
    const ok = await new Promise((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
