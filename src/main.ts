import cluster from 'node:cluster';
import { Primary } from './cluster/primary';
import { ConfigError, isUnconfigured, loadConfig } from './config/config';
import { installLastResort } from './observability/last-resort';
import { createLogger } from './observability/logger';
import { startMetricsListener } from './observability/metrics-server';
import { describe, startKoogate } from './compose/server';

/**
 * A stopping process that has not finished by the drain's grace period (KOOGATE_SHUTDOWN_GRACE_SECONDS)
 * and this much more exits anyway: never hang an orchestrator's stop.
 */
const STOP_MARGIN_MS = 10_000;

/**
 * `npm start`: with no configuration outside production, the built-in demo (stand-in marketplace, demo
 * app and koogate); otherwise koogate as the environment configures it.
 */
async function main(): Promise<void> {
  const env = process.env;
  const demo = isUnconfigured(env) && env.NODE_ENV !== 'production';
  const log = createLogger((env.KOOGATE_LOG_LEVEL as 'info' | undefined) ?? 'info');
  let close: () => Promise<void>;
  let graceMs: number;
  if (demo) {
    // Loaded only here: production code never imports the sandbox.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startStack } = require('./sandbox/stack') as typeof import('./sandbox/stack');
    const port = Number(env.PORT ?? 8080);
    const stack = await startStack({ log, port, redisUrl: env.REDIS_URL, openApi: true });
    // As after a payment: newInstance, then the kit syncs carrying the instanceId koogate answered.
    await stack.purchase();
    process.stdout.write(
      `\n  koogate demo is running.\n\n  Open ${stack.url}/ in a browser.\n\n` +
        `  Stand-in marketplace: ${stack.sandbox.url}   Demo app (behind koogate): ${stack.app.url}\n` +
        `  Freeze, unfreeze or release a tenant's subscription: ${stack.ordersUrl}\n` +
        `  This is the built-in demo; set the variables in README.md (or NODE_ENV=production) to run for real.\n\n`,
    );
    close = stack.close;
    graceMs = stack.koogate.shutdownGraceMs;
  } else {
    const config = loadConfig(env);
    const root = createLogger(config.logLevel);
    if (config.workers > 1 && cluster.isPrimary) {
      // KOOGATE_WORKERS: this process only supervises; each worker runs this file again and lands below.
      const primary = new Primary({ workers: config.workers, log: root, describe: describe(config), stopDeadlineMs: config.shutdownGraceSeconds * 1000 + STOP_MARGIN_MS + 2000 });
      // The one metrics listener, opened before any worker starts (a taken port stops nothing half-started).
      if (config.metrics) await startMetricsListener(primary, config.metrics.port, config.metrics.host, root);
      primary.start();
      installLastResort(process, root, (reason) => primary.stop(reason, true));
      const code = await primary.done;
      // The workers' last lines, relayed, may still be on their way out of this process: let them go first.
      setTimeout(() => process.exit(code), 5000).unref();
      await Promise.all([process.stdout, process.stderr].map((s) => new Promise((ok) => s.write('', ok))));
      process.exit(code);
    }
    const workerId = cluster.isWorker ? cluster.worker!.id : undefined;
    const koogate = await startKoogate(config, workerId === undefined ? root : root.child({ worker: workerId }), { workerId });
    close = () => koogate.close();
    graceMs = koogate.shutdownGraceMs;
  }
  let stopping = false;
  const stop = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, graceMs });
    // close() drains for the grace period, then cuts what is left; should it hang anyway, exit regardless.
    setTimeout(() => process.exit(1), graceMs + STOP_MARGIN_MS).unref();
    close().then(
      () => process.exit(exitCode),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  installLastResort(process, log, (reason) => stop(reason, 1));
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n\nSee README.md, "Configuration", for every setting.\n`);
  } else {
    process.stderr.write(`koogate failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  process.exit(1);
});
