import { PassThrough, Writable } from 'node:stream';
import { relayLines } from '../../src/cluster/output';

/** A stream that records each write it receives, as one call. */
function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, writes };
}

describe('relaying a worker\'s output in whole lines', () => {
  test('a line cut across reads is written once it is whole; each write ends with a newline', async () => {
    const from = new PassThrough();
    const to = recorder();
    const relayed = relayLines(from, to.stream);
    from.write('{"a":1}\n{"b":');
    from.write('2}\n{"c"');
    from.write(':3}\n');
    from.end();
    await relayed;
    expect(to.writes).toEqual(['{"a":1}\n', '{"b":2}\n', '{"c":3}\n']);
  });

  test('a UTF-8 character split between reads arrives intact', async () => {
    const from = new PassThrough();
    const to = recorder();
    const relayed = relayLines(from, to.stream);
    const bytes = Buffer.from('{"name":"张伟"}\n', 'utf8');
    from.write(bytes.subarray(0, 11)); // inside 张
    from.write(bytes.subarray(11));
    from.end();
    await relayed;
    expect(to.writes.join('')).toBe('{"name":"张伟"}\n');
  });

  test('a last line without its newline still ends as a line of its own', async () => {
    const from = new PassThrough();
    const to = recorder();
    const relayed = relayLines(from, to.stream);
    from.write('{"a":1}\n{"cut":');
    from.end();
    await relayed;
    expect(to.writes).toEqual(['{"a":1}\n', '{"cut":\n']);
  });

  test('a reader that falls behind holds the worker\'s pipe until it drains', async () => {
    const from = new PassThrough();
    const seen: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, done) {
        seen.push(chunk.toString());
        release = done;
      },
    });
    void relayLines(from, slow);
    from.write('{"first":true}\n');
    await new Promise((ok) => setImmediate(ok));
    expect(from.isPaused()).toBe(true);
    release!();
    await new Promise((ok) => setImmediate(ok));
    expect(from.isPaused()).toBe(false);
    expect(seen).toEqual(['{"first":true}\n']);
  });
});
