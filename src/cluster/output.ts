import type { Readable, Writable } from 'node:stream';

/** A line longer than this is passed on in pieces rather than held whole. */
const MAX_HELD = 1 << 20;
const NL = 0x0a;

/**
 * Copies a worker's stdout (or stderr) to this process's, whole lines only. Workers that shared one pipe
 * would each write their batches of log lines to it at once, and a batch bigger than the pipe's atomic
 * size (4 KiB) that meets a full pipe is written in parts, between which another worker's lines land:
 * half lines, no longer JSON. Each worker instead writes to a pipe of its own, read here; this process
 * is the only writer of the real stream, and writes complete lines in the order they arrive. Bytes, not
 * text: a newline byte never occurs inside a UTF-8 character. A reader that falls behind holds the
 * workers back (the worker's pipe is not read until the stream drains), as the shared pipe did.
 */
export function relayLines(from: Readable, to: Writable): Promise<void> {
  let held: Buffer = Buffer.alloc(0);
  const write = (b: Buffer) => {
    if (b.length > 0 && !to.write(b)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  };
  from.on('data', (chunk: Buffer) => {
    const nl = chunk.lastIndexOf(NL);
    if (nl < 0) {
      held = Buffer.concat([held, chunk]);
      if (held.length >= MAX_HELD) {
        write(held);
        held = Buffer.alloc(0);
      }
      return;
    }
    write(held.length > 0 ? Buffer.concat([held, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1));
    held = Buffer.from(chunk.subarray(nl + 1));
  });
  return new Promise((ok) => {
    const end = () => {
      // A last line without its newline (a worker cut off mid-write) still ends as a line of its own.
      if (held.length > 0) write(Buffer.concat([held, Buffer.from('\n')]));
      held = Buffer.alloc(0);
      ok();
    };
    from.once('end', end);
    from.once('error', end);
  });
}
