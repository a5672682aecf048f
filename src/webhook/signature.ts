import { createHmac } from 'node:crypto';

/**
 * X-Koogate-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one v1 per
 * configured secret so the app can rotate its secret without losing a delivery. The time is signed too,
 * so the app can refuse a captured delivery replayed later.
 */
export function webhookSignature(secrets: readonly string[], body: string, unixSeconds: number): string {
  const signed = `${unixSeconds}.${body}`;
  return [`t=${unixSeconds}`, ...secrets.map((s) => `v1=${createHmac('sha256', s).update(signed, 'utf8').digest('hex')}`)].join(',');
}
