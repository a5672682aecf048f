/**
 * The demo app on its own, as the app behind koogate in deploy/compose.yaml:
 * `node dist/src/sandbox/demo-app-main.js` (PORT, default 3000; HOST, default 0.0.0.0). It shows the
 * identity headers koogate sends; it has no login of its own and must only be reachable through koogate.
 */
import { startDemoApp } from './demo-app';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number (got "${process.env.PORT}")`);
  const app = await startDemoApp({ host: process.env.HOST ?? '0.0.0.0', port });
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'demo app listening', url: app.url })}\n`);
  // As PID 1 in a container node has no default SIGTERM handling: without this, a stop waits for SIGKILL.
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo app failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
