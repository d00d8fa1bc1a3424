// A tiny static HTTP server on 127.0.0.1 for the browser tests, the browser benchmark and
// the playground: serves directories under URL prefixes with the MIME types browsers insist
// on (module scripts need text/javascript, WebAssembly.compileStreaming needs
// application/wasm), no caching, and COOP/COEP so pages are cross-origin isolated (finer
// performance.now() for the benchmark; SharedArrayBuffer for OPFS workers later).
// As a command it serves the repository: `node scripts/static-server.mjs [port]`.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * Starts serving `mounts` (URL prefix → directory; the longest matching prefix wins) on
 * 127.0.0.1 at `port` (0 = a free one); `isolated: false` leaves out COOP/COEP, for pages
 * that must run without SharedArrayBuffer. Resolves to `{ url, port, close }`; `url` ends in '/'.
 * Paths that escape their directory are 403; missing files 404; a directory serves index.html.
 */
export async function startStaticServer(mounts, port = 0, { isolated = true } = {}) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : prefix + '/', resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      ...(isolated ? {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      } : {}),
    };
    let pathname;
    try { pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname); } catch { pathname = '\0'; }
    const mount = table.find(([prefix]) => pathname.startsWith(prefix) || pathname + '/' === prefix);
    if (!mount || (req.method !== 'GET' && req.method !== 'HEAD')) { res.writeHead(404, headers).end(); return; }
    const [prefix, dir] = mount;
    let file = normalize(join(dir, pathname.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) { res.writeHead(403, headers).end(); return; }
    let st;
    try {
      st = statSync(file);
      if (st.isDirectory()) {
        // Relative URLs in the page must resolve inside the directory.
        if (!pathname.endsWith('/')) { res.writeHead(301, { ...headers, Location: `${pathname}/` }).end(); return; }
        file = join(file, 'index.html');
        st = statSync(file);
      }
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${pathname}`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const srv = await startStaticServer({ '/': root }, Number(process.argv[2] ?? 8080));
  console.log(`serving ${root} at ${srv.url}`);
  console.log(`playground: ${srv.url}examples/playground/ (after npm run build)`);
}
