import proxyaddr from 'proxy-addr';
import type { TrustFn } from './headers';

/** KOOGATE_TRUST_PROXY as express reads its 'trust proxy' setting: true, a hop count, or addresses/subnets. */
export function compileTrust(value: boolean | number | string): TrustFn {
  if (value === true) return () => true;
  if (value === false) return () => false;
  if (typeof value === 'number') return (_addr, hop) => hop < value;
  return proxyaddr.compile(value.split(',').map((v) => v.trim()).filter(Boolean));
}
