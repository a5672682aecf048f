import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';

/** The yardstick: a bare Node reverse proxy (http-proxy with a keep-alive agent, no authentication). */
const target = process.argv[2]!;
const proxy = createProxyServer({ target, agent: new Agent({ keepAlive: true, maxSockets: 256 }), xfwd: true });
proxy.on('error', (_e, _req, res) => {
  const r = res as import('node:http').ServerResponse;
  if (!r.headersSent) r.writeHead(502);
  r.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
