import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The app of the benchmark: a small JSON answer, keep-alive, as cheap as Node can make it. */
const body = JSON.stringify({ ok: true, service: 'bench-upstream', items: [1, 2, 3, 4, 5, 6, 7, 8] });
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
