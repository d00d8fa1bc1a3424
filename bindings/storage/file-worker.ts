// The file worker's script (dist/file-worker.js; worker-file-tasks.ts starts it): each store
// attached to it sends its channel (a MessagePort, and the counter of its tickets done). The
// worker runs the store's file tasks in the order they arrive, then stores the ticket in the
// counter and wakes a store waiting on it. A failed task's error is posted before its ticket
// is stored, so a store that sees the ticket done finds the error waiting; the store's later
// tasks are skipped (its directory takes no more writes until reopened).
// If the thread itself ends (an uncaught error, process.exit here), it raises `gone` and
// wakes every store's counter on the way out: a store blocked waiting for its tasks cannot
// receive the 'exit' event (that needs its event loop), so this is how it learns at once.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { runFileTask, type FileTask } from './file-tasks.js';
import { raiseOnExit } from './worker-gone.js';

const counters = raiseOnExit((workerData as { gone: Int32Array }).gone);

parentPort!.on('message', ({ port, done }: { port: MessagePort; done: Int32Array }) => {
  counters.push(done);
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
