import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names lower-cased; repeated ones joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/**
 * One request written byte for byte on a fresh TCP connection, for request targets and headers that
 * fetch and node:http would refuse or rewrite. Resolves with the answer once the server closes or the
 * declared body has arrived.
 */
export function rawRequest(url: string, head: string, body = ''): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((ok, fail) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      const parsed = parse(Buffer.concat(chunks));
      if (!parsed) return;
      settled = true;
      socket.destroy();
      ok(parsed);
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const parsed = parse(Buffer.concat(chunks));
      if (parsed && parsed.complete) finish();
    });
    socket.on('end', () => {
      finish();
      if (!settled) {
        settled = true;
        fail(new Error(`connection closed without an answer: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
      }
    });
    socket.on('error', (e) => {
      if (!settled) {
        settled = true;
        fail(e);
      }
    });
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
  });
}

function parse(buf: Buffer): (RawAnswer & { complete: boolean }) | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const rest = buf.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  return { status: Number(m[1]), headers, body: rest.toString('utf8'), complete: length !== undefined && rest.length >= length };
}

/** A GET head for `target` with the given extra header lines, closing after the answer. */
export function getHead(url: string, target: string, extra: Record<string, string> = {}): string {
  const host = new URL(url).host;
  let head = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(extra)) head += `${k}: ${v}\r\n`;
  return `${head}\r\n`;
}

/**
 * A GET on a connection of its own (no agent, so no keep-alive reuse across a shutdown) that resolves with
 * status and body, or with the error code that cut it (ECONNREFUSED once a listener is closed).
 */
export function getOrError(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((ok) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => ok({ error: e.message }));
    });
    req.on('error', (e) => ok({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}
