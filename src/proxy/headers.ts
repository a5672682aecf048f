import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Hop-by-hop fields (RFC 9110 §7.6.1) and their older companions: never forwarded by a proxy. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']);

const NONE: ReadonlySet<string> = new Set();

/** Names listed in a Connection field are hop-by-hop too. */
function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  // The usual values name nothing but themselves: no set to build on the request path.
  if (value === undefined || value === 'keep-alive' || value === 'close') return NONE;
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) for (const t of v.split(',')) out.add(t.trim().toLowerCase());
  return out;
}

/**
 * Request headers to send upstream, in one pass: end-to-end fields only, and none that `drop` names
 * (identity headers that only koogate may set).
 */
export function endToEndRequestHeaders(headers: IncomingHttpHeaders, drop: (name: string) => boolean = () => false): Record<string, string | string[]> {
  const listed = connectionListed(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k) || drop(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Response header pairs (raw, order and case kept) to send back: end-to-end fields only. */
export function endToEndResponseHeaders(res: IncomingMessage): string[] {
  const raw = res.rawHeaders;
  const listed = connectionListed(res.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export type TrustFn = (addr: string, hop: number) => boolean;

/** Forwarding headers koogate does not set itself: passed on only from a trusted proxy. */
const FORWARDING_EXTRAS = ['x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-real-ip'] as const;

/**
 * X-Forwarded-For/-Proto/-Host and RFC 7239 Forwarded as koogate saw the request. A client's own values
 * (and X-Forwarded-Port/-Prefix/-Server, X-Real-IP) are kept only when the peer is a trusted proxy
 * (KOOGATE_TRUST_PROXY); otherwise they are replaced or dropped.
 */
export function setForwarded(out: Record<string, string | string[]>, req: IncomingMessage, trust: TrustFn): void {
  const remote = req.socket.remoteAddress ?? '';
  const trusted = trust(remote, 0);
  const prior = trusted ? req.headers['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  const ownProto = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const fwdProto = trusted ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() : '';
  out['x-forwarded-proto'] = fwdProto || ownProto;
  const host = (trusted ? req.headers['x-forwarded-host'] : undefined) ?? req.headers.host;
  if (host) out['x-forwarded-host'] = String(host);
  else delete out['x-forwarded-host'];
  // This hop's element (RFC 7239 §4), after a trusted proxy's own elements.
  let element = `for=${remote.includes(':') ? `"[${remote}]"` : forwardedValue(remote)}`;
  if (req.headers.host) element += `;host=${forwardedValue(req.headers.host)}`;
  element += `;proto=${ownProto}`;
  const priorForwarded = trusted ? req.headers.forwarded : undefined;
  out.forwarded = priorForwarded ? `${priorForwarded}, ${element}` : element;
  if (!trusted) for (const name of FORWARDING_EXTRAS) delete out[name];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A Forwarded parameter value: a token as it is, anything else (host:port) as a quoted string. An IPv6 `for` is bracketed above. */
function forwardedValue(v: string): string {
  return TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}
