import { request as httpRequest } from 'node:http';

/**
 * A scripted browser for integration tests: fetch with a cookie jar (per host, as browsers keep cookies),
 * redirects followed by hand so each hop can be asserted.
 */
export interface Hop {
  status: number;
  url: string;
  location?: string;
  headers: Headers;
  text: string;
}

export class Client {
  private readonly jar = new Map<string, Map<string, string>>();

  constructor(readonly defaultHeaders: Record<string, string> = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }) {}

  cookies(url: string): Map<string, string> {
    const host = new URL(url).hostname;
    let m = this.jar.get(host);
    if (!m) this.jar.set(host, (m = new Map()));
    return m;
  }

  cookieHeader(url: string): string {
    return [...this.cookies(url)].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** One request, no redirect following. */
  async request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams } = {}): Promise<Hop> {
    const headers: Record<string, string> = { ...this.defaultHeaders, ...init.headers };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    const res = await rawRequest(url, init.method ?? 'GET', headers, init.body?.toString());
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || attrs.some((a) => /^\s*max-age=0\b/i.test(a));
      if (expired || value === '') this.cookies(url).delete(name);
      else this.cookies(url).set(name, value);
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url, location: location ? new URL(location, url).toString() : undefined, headers: res.headers, text: res.text };
  }

  /** Follows redirects (at most `max`), returning every hop. */
  async follow(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams } = {}, max = 10): Promise<Hop[]> {
    const hops: Hop[] = [];
    let hop = await this.request(url, init);
    hops.push(hop);
    while (hop.location && hop.status >= 300 && hop.status < 400 && hops.length <= max) {
      hop = await this.request(hop.location);
      hops.push(hop);
    }
    return hops;
  }
}

/** node:http rather than fetch: fetch overwrites Sec-Fetch-Mode, which decides page vs API here. */
function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((ok, fail) => {
    const req = httpRequest(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) h.append(k, x);
          else if (v !== undefined) h.set(k, v);
        }
        ok({ status: res.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}
