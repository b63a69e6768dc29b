/**
 * A worker thread of `pnpm bench:data`'s two-worker run: it runs the stage tasks it is sent against the same
 * lake folder as the other thread, exactly as a data-worker replica runs the tasks Kafka assigns it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTask, type StageTask } from '@strata/data';
import { LocalObjectStore } from '@strata/platform';

const store = new LocalObjectStore({ root: (workerData as { lakeRoot: string }).lakeRoot });
parentPort!.on('message', (task: StageTask) => {
  runTask({ store }, task).then(
    () => parentPort!.postMessage({ ok: true }),
    (error: unknown) =>
      parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
});
