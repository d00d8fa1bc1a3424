// The file worker's script (dist/file-worker.js; worker-file-tasks.ts starts it): each store
// attached to it sends its channel (a MessagePort, and the counter of its tickets done). The
// worker runs the store's file tasks in the order they arrive, then stores the ticket in the
// counter and wakes a store waiting on it. A failed task's error is posted before its ticket
// is stored, so a store that sees the ticket done finds the error waiting; the store's later
// tasks are skipped (its directory takes no more writes until reopened).
import { parentPort, type MessagePort } from 'node:worker_threads';
import { runFileTask, type FileTask } from './file-tasks.js';

parentPort!.on('message', ({ port, done }: { port: MessagePort; done: Int32Array }) => {
  let failed = false;
  port.on('message', ({ ticket, task }: { ticket: number; task: FileTask }) => {
    if (!failed) {
      try {
        runFileTask(task);
      } catch (err) {
        failed = true;
        port.postMessage({ ticket, message: (err as Error)?.message ?? String(err) });
      }
    }
    Atomics.store(done, 0, ticket);
    Atomics.notify(done, 0);
  });
});
