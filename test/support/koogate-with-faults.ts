/**
 * koogate's own entry (src/main.ts, unchanged) with two faults a test raises from outside, so that the
 * process-wide last-resort handlers meet real failures in a real process. Production code has no such
 * trigger: this file is built only for tests (tsconfig.build.json) and run by test/integration/last-resort.test.ts.
 *
 * - SIGUSR2: a promise rejects with nothing observing it (an unhandled rejection).
 * - SIGHUP:  a callback throws with nothing catching it (an uncaught exception).
 *
 * Each error carries TEST_FAULT_SECRET as a URL's password and as a token-named property: the test checks
 * that it never reaches the log.
 */
import '../../src/main';

const secret = process.env.TEST_FAULT_SECRET ?? 'fault-secret';

function fault(what: string): Error {
  const err = new Error(`${what} while talking to redis://koogate:${secret}@10.0.0.5:6379/0`);
  Object.assign(err, { code: `TEST_FAULT_${what.toUpperCase()}`, accessToken: secret });
  return err;
}

process.on('SIGUSR2', () => {
  void Promise.reject(fault('rejected'));
});

process.on('SIGHUP', () => {
  setImmediate(() => {
    throw fault('thrown');
  });
});
