import type { IncomingMessage } from 'node:http';
import { answerHeaders } from '../../../src/proxy/exchange';
import { endToEndRequestHeaders, setForwarded } from '../../../src/proxy/headers';
import { compileTrust } from '../../../src/proxy/trust';
import { isIdentityHeader } from '../../../src/proxy/identity';

const reqFrom = (remote: string, headers: Record<string, string>) => ({ socket: { remoteAddress: remote }, headers }) as unknown as IncomingMessage;

describe('X-Forwarded-* and the trusted-proxy setting', () => {
  const client = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', forwarded: 'for=203.0.113.7;proto=https', host: 'koogate:8080' };
  const extras = { 'x-forwarded-port': '443', 'x-forwarded-prefix': '/admin', 'x-real-ip': '6.6.6.6' };

  test('behind a trusted load balancer its values are kept and extended', () => {
    const out2: Record<string, string | string[]> = { ...extras };
    setForwarded(out2, reqFrom('10.0.0.5', client), compileTrust('10.0.0.0/8'));
    expect(out2).toEqual({
      ...extras,
      'x-forwarded-for': '203.0.113.7, 10.0.0.5',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
      forwarded: 'for=203.0.113.7;proto=https, for=10.0.0.5;host="koogate:8080";proto=http',
    });
  });

  test('from an untrusted peer they are replaced by what koogate saw', () => {
    const out: Record<string, string | string[]> = {};
    Object.assign(out, extras);
    setForwarded(out, reqFrom('198.51.100.9', client), compileTrust('10.0.0.0/8'));
    expect(out).toEqual({ 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'koogate:8080', forwarded: 'for=198.51.100.9;host="koogate:8080";proto=http' });
  });

  test('an IPv6 peer is bracketed in Forwarded, a host with odd characters quoted', () => {
    const out: Record<string, string | string[]> = {};
    setForwarded(out, reqFrom('::1', { host: 'a"b' }), compileTrust(false));
    expect(out.forwarded).toBe('for="[::1]";host="a\\"b";proto=http');
  });

  test.each([
    [true, '198.51.100.9', true],
    [false, '10.0.0.5', false],
    [1, '198.51.100.9', true],
    ['loopback', '127.0.0.1', true],
    ['loopback', '10.0.0.5', false],
    ['10.0.0.1, 10.0.0.2', '10.0.0.2', true],
  ] as const)('trust %p, peer %s → %p', (setting, peer, trusted) => {
    expect(compileTrust(setting)(peer, 0)).toBe(trusted);
  });
});

describe('hop-by-hop fields', () => {
  test('are dropped from requests, with every field the Connection header names', () => {
    const out = endToEndRequestHeaders({ connection: 'keep-alive, X-Trace', 'x-trace': '1', 'keep-alive': 'timeout=5', te: 'trailers', upgrade: 'h2c', 'proxy-authorization': 'Basic x', accept: 'a', cookie: 'c=1' });
    expect(out).toEqual({ accept: 'a', cookie: 'c=1' });
  });

  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));

  test('are dropped from answers (whatever their case, and those Connection names), repeated Set-Cookie kept in order', () => {
    const out = answerHeaders(raw('Connection', 'X-Hop, keep-alive', 'x-hop', '1', 'Transfer-Encoding', 'chunked', 'Trailer', 'x', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2', 'TE', 'x', 'Upgrade', 'h2c'), undefined);
    expect(out).toEqual({ list: ['Set-Cookie', 'a=1', 'Content-Type', 'text/plain', 'set-cookie', 'b=2'], eventStream: false });
  });

  test("koogate's own Set-Cookie goes out beside the app's, which it never replaces", () => {
    expect(answerHeaders(raw('Set-Cookie', 'app=1', 'Content-Length', '2'), 'koogate.sid=s%3Ax.y; Path=/').list).toEqual(['Set-Cookie', 'app=1', 'Content-Length', '2', 'set-cookie', 'koogate.sid=s%3Ax.y; Path=/']);
  });

  test("the request id goes out with the app's headers, unless the app sent its own (whatever its case)", () => {
    expect(answerHeaders(raw('Content-Length', '2'), undefined, 'id-1').list).toEqual(['Content-Length', '2', 'x-request-id', 'id-1']);
    expect(answerHeaders(raw('X-Request-ID', 'app-1', 'Content-Length', '2'), undefined, 'id-1').list).toEqual(['X-Request-ID', 'app-1', 'Content-Length', '2']);
    expect(answerHeaders(raw('Content-Length', '2'), undefined).list).toEqual(['Content-Length', '2']);
  });

  test('an event stream is recognised by its content type (so its headers are flushed at once)', () => {
    expect(answerHeaders(raw('content-type', 'text/event-stream; charset=utf-8'), undefined).eventStream).toBe(true);
    expect(answerHeaders(raw('Content-Type', 'text/html'), undefined).eventStream).toBe(false);
  });
});

describe('look-alike identity and forwarding headers', () => {
  test.each(['x_forwarded_user', 'x-forwarded_tenant', 'x_forwarded-email', 'x_koogate_assertion', 'x-koogate_anything', 'x_forwarded_for', 'x_forwarded_host', 'x_forwarded_proto', 'x_real_ip', 'x-forwarded-user', 'x-koogate-assertion'])('%s never reaches the app', (name) => {
    expect(endToEndRequestHeaders({ [name]: 'admin', accept: 'a' }, isIdentityHeader)).toEqual({ accept: 'a' });
  });
  test.each(['x_custom_header', 'accept', 'x-forwarded-something-else'])('%s is not an identity header', (name) => {
    expect(isIdentityHeader(name)).toBe(false);
  });
});
