import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { MarketplaceUser } from '../core/identity';

export const ASSERTION_HEADER = 'x-koogate-assertion';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * A short-lived ES256 JWT naming the user, tenant and role, for apps that cannot fully trust their
 * network; they verify it with the keys at /_koogate/jwks.json. Tokens are reused for half their life
 * so that signing stays off the hot path.
 */
/** Every PEM private key block in the text, in order (a file or variable may hold several). */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN (?:EC )?PRIVATE KEY-----[\s\S]+?-----END (?:EC )?PRIVATE KEY-----/g) ?? [];
}

interface SigningKey {
  key: KeyObject;
  kid: string;
  jwk: Record<string, unknown>;
}

function signingKey(pem: string): SigningKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('KOOGATE_ASSERTION_KEY must hold EC P-256 private keys (ES256)');
  }
  const pub = createPublicKey(key).export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string };
  // RFC 7638 thumbprint: the members in lexicographic order, no spaces.
  const kid = b64url(createHash('sha256').update(JSON.stringify({ crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y })).digest());
  return { key, kid, jwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid, alg: 'ES256', use: 'sig' } };
}

export class AssertionSigner {
  private readonly key: KeyObject;
  readonly kid: string;
  /** Every configured key's public half: the first signs, the others are still accepted during a rotation. */
  private readonly jwkList: Record<string, unknown>[];
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  /** `pem`: one or more PEM private keys, one after another; the first signs. */
  constructor(
    pem: string,
    private readonly issuer: string,
    private readonly audience: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    const keys = pemBlocks(pem).map(signingKey);
    const [first] = keys;
    if (!first) throw new Error('KOOGATE_ASSERTION_KEY holds no PEM private key');
    this.key = first.key;
    this.kid = first.kid;
    const seen = new Set<string>();
    this.jwkList = keys.filter((k) => !seen.has(k.kid) && seen.add(k.kid)).map((k) => k.jwk);
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: this.jwkList };
  }

  headers(user: MarketplaceUser): Record<string, string> {
    return { [ASSERTION_HEADER]: this.token(user) };
  }

  token(user: MarketplaceUser): string {
    const now = this.now();
    const cacheKey = `${user.tenantId}\n${user.userName}\n${user.role ?? ''}\n${user.name ?? ''}\n${user.email ?? ''}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.renewAt > now) return hit.token;
    const iat = Math.floor(now / 1000);
    const claims = {
      iss: this.issuer,
      aud: this.audience,
      sub: `${user.tenantId}:${user.userName}`,
      tenant: user.tenantId,
      user: user.userName,
      ...(user.name ? { name: user.name } : {}),
      ...(user.email ? { email: user.email } : {}),
      ...(user.role ? { role: user.role } : {}),
      iat,
      exp: iat + this.ttlSeconds,
    };
    const input = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: this.kid }))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(cacheKey, { token, renewAt: now + (this.ttlSeconds * 1000) / 2 });
    return token;
  }
}
