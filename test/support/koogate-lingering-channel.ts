/**
 * koogate's own entry (src/main.ts, unchanged), where every cluster worker first hands a copy of its IPC
 * channel to a short-lived process of its own. When such a worker exits, its primary sees the 'exit' at
 * once but the channel's close only once that process has ended too: the order in which node:cluster may
 * report any worker's end, made certain. Built only for tests (tsconfig.build.json) and run by
 * test/integration/workers.test.ts.
 *
 * LINGER_MS: how long the holder of the channel lives.
 */
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
// Starts koogate; its start is asynchronous, so the code below runs before any worker can have failed.
import '../../src/main';

if (cluster.isWorker) {
  const channel = (process as unknown as { channel?: { fd?: number } }).channel;
  if (channel?.fd !== undefined) {
    const holder = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${Number(process.env.LINGER_MS ?? 3000)})`], {
      stdio: ['ignore', 'ignore', 'ignore', channel.fd],
      detached: true,
    });
    holder.unref();
  }
}

