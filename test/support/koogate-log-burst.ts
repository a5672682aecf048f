/**
 * koogate's own entry (src/main.ts, unchanged) whose workers, on SIGUSR2, log a burst of lines in one turn
 * of the event loop through the process's own logger: batches of 64 KiB, as a busy worker writes them.
 * Built only for tests (tsconfig.build.json), run by test/integration/clean-output.test.ts.
 */
import cluster from 'node:cluster';
import '../../src/main';
import { createLogger } from '../../src/observability/logger';

const lines = Number(process.env.TEST_BURST_LINES ?? 3000);

if (cluster.isWorker) {
  process.on('SIGUSR2', () => {
    const log = createLogger('info').child({ worker: cluster.worker!.id });
    for (let i = 0; i < lines; i++) log.info('burst line', { i, pad: 'x'.repeat(100) });
    log.info('burst done');
  });
}
