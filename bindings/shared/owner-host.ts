// Where an elected tab runs its Owner: in place when it is itself a dedicated Worker (OPFS sync
// access handles exist there), else in a dedicated Worker it starts, whose script calls
// SharedStore.serve() (dist/shared-worker.js, or the app's own through the `worker` option).
//
//   page -> worker   { t: 'start', config }    worker -> page   { t: 'started' } | { t: 'failed', error }
//   page -> worker   { t: 'stop' }             worker -> page   { t: 'stopped' }
//
// The tab holds the Web Lock, the worker the directory's LOCK file: when the tab closes or
// crashes its worker goes with it, and the next owner's open retries LOCKED until the
// worker's handles are released (owner.ts).
import { StrataError } from '../errors.js';
import { Owner, type OwnerConfig } from './owner.js';
import { fromWire, toWire, type WireError } from './protocol.js';

/** A running owner, as the tab holding the lock sees it. */
export interface OwnerHandle {
  /** Stops serving and closes the Store. */
  stop(): Promise<void>;
  /** Resolves if the owner ends by itself (its worker failed). */
  readonly ended: Promise<void>;
}

type HostMessage = { t: 'started' } | { t: 'failed'; error: WireError } | { t: 'stopped' };

const inDedicatedWorker = (): boolean =>
  typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === 'function'
  && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function';

/** Starts the owner of `config.path`; rejects with the Store's error if it cannot open. */
export async function startOwner(config: OwnerConfig, makeWorker: () => Worker): Promise<OwnerHandle> {
  if (inDedicatedWorker()) {
    const owner = await Owner.start(config);
    return { stop: () => owner.close(), ended: new Promise<void>(() => {}) };
  }
  const worker = makeWorker();
  let onMessage: (m: HostMessage) => void = () => {};
  let ended!: () => void;
  const endedP = new Promise<void>((r) => { ended = r; });
  worker.onmessage = (e: MessageEvent<HostMessage>) => onMessage(e.data);
  await new Promise<void>((resolve, reject) => {
    worker.onerror = (e) => {
      e.preventDefault?.();
      const err = new StrataError('IO_ERROR', `the SharedStore worker failed: ${e.message || 'it did not load'} `
        + '(when a bundler does not ship dist/shared-worker.js beside the entry, pass SharedStore.open a `worker` option)');
      worker.terminate();
      reject(err);
      ended();
    };
    onMessage = (m) => {
      if (m.t === 'started') resolve();
      else if (m.t === 'failed') { worker.terminate(); reject(fromWire(m.error)); }
    };
    worker.postMessage({ t: 'start', config });
  });
  return {
    ended: endedP,
    stop: () => new Promise<void>((resolve, reject) => {
      onMessage = (m) => {
        worker.terminate();
        if (m.t === 'stopped') resolve();
        else if (m.t === 'failed') reject(fromWire(m.error));
      };
      worker.postMessage({ t: 'stop' });
    }),
  };
}

/** The worker side: serves one owner for the tab that started this worker. */
export function serveOwner(): void {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: HostMessage): void };
  let owner: Owner | undefined;
  scope.onmessage = async (e: MessageEvent<{ t: 'start'; config: OwnerConfig } | { t: 'stop' }>) => {
    const m = e.data;
    try {
      if (m.t === 'start') {
        owner = await Owner.start(m.config);
        scope.postMessage({ t: 'started' });
      } else if (m.t === 'stop') {
        await owner?.close();
        scope.postMessage({ t: 'stopped' });
      }
    } catch (err) {
      scope.postMessage({ t: 'failed', error: toWire(err) });
    }
  };
}
