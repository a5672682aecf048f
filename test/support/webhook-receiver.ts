import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request koogate's webhook made to the app, and how the app answered it. */
export interface Received {
  headers: IncomingHttpHeaders;
  /** The exact body text. */
  body: string;
  /** The body parsed, when it is JSON. */
  event: { id: string; interface: string; generation: string; receivedAt: string; data: Record<string, unknown> };
  /** What the app answered: a status, or 'hang' (no answer at all). */
  answer: number | 'hang';
  /** Requests with the same X-Koogate-Delivery being handled at the moment this one arrived. */
  concurrent: number;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** How the app answers a request; it sees the request and every earlier one. Default: 200. */
  answer: (r: Omit<Received, 'answer' | 'concurrent'>, earlier: Received[]) => number | 'hang';
  /** The first request (already made or still to come) for which `match` holds. */
  waitFor(match: (r: Received) => boolean, what?: string, timeoutMs?: number): Promise<Received>;
  /** Resolves once `n` requests match. */
  waitForCount(match: (r: Received) => boolean, n: number, what?: string, timeoutMs?: number): Promise<Received[]>;
  /** Stops listening and drops open connections: the app is down (connections are refused). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The ISV app's webhook endpoint for tests: records every request, answers as told. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const inFlight = new Map<string, number>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => 200,
    waitFor: async (match, what = 'a matching delivery', timeoutMs = 15_000) => (await receiver.waitForCount(match, 1, what, timeoutMs))[0]!,
    waitForCount: (match, n, what = 'matching deliveries', timeoutMs = 15_000) =>
      new Promise((ok, fail) => {
        const check = (): boolean => {
          const hits = received.filter(match);
          if (hits.length < n) return false;
          clearTimeout(timer);
          ok(hits.slice(0, n));
          return true;
        };
        const timer = setTimeout(() => fail(new Error(`waited ${timeoutMs} ms for ${n} × ${what}; got ${received.filter(match).length} (of ${received.length} requests)`)), timeoutMs);
        if (check()) return;
        const waiter = () => {
          if (check()) waiters.splice(waiters.indexOf(waiter), 1);
        };
        waiters.push(waiter);
      }),
    stop: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((ok) => {
        s.close(() => ok());
        for (const sock of sockets) sock.destroy();
      });
    },
    start: async () => {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let event = {} as Received['event'];
          try {
            event = JSON.parse(body) as Received['event'];
          } catch {
            /* asserted by the tests through event.id */
          }
          const id = String(req.headers['x-koogate-delivery'] ?? '');
          const concurrent = inFlight.get(id) ?? 0;
          inFlight.set(id, concurrent + 1);
          const seen = { headers: req.headers, body, event };
          const answer = receiver.answer(seen, [...received]);
          received.push({ ...seen, answer, concurrent });
          const done = () => inFlight.set(id, (inFlight.get(id) ?? 1) - 1);
          if (answer === 'hang') {
            res.on('close', done);
          } else {
            res.writeHead(answer, { 'content-type': 'text/plain' });
            res.end('ok', done);
          }
          for (const w of [...waiters]) w();
        });
      });
      s.on('connection', (sock: Socket) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.listen(port, '127.0.0.1', () => ok());
      });
      port = (s.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${port}/koogate/events`;
      server = s;
    },
    close: () => receiver.stop(),
  };
  await receiver.start();
  return receiver;
}

/** The check the README shows an app, written out independently: any v1 made with `secret` over "<t>.<body>". */
export function signatureValid(header: string | undefined, body: string, secret: string, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return parts.some(([k, v]) => {
    const got = Buffer.from(v ?? '', 'hex');
    return k === 'v1' && got.length === want.length && timingSafeEqual(got, want);
  });
}

/** Polls `probe` until it holds: for states no request announces (a queue that emptied). */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}
