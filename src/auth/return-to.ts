const BASE = 'http://koogate.invalid';

/**
 * Accepts only a same-origin relative path as a post-login target; anything else becomes `/`.
 * Rejects scheme-relative (`//evil`), backslash tricks (`/\evil`), control characters and encoded
 * variants that browsers would turn into another origin, and koogate's own routes (no loops).
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//')) return '/';
  // Browsers read `\` as `/` and drop tabs and newlines inside URLs.
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  let decoded = value;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return '/';
  }
  if (decoded.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(decoded)) return '/';
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) return '/';
  if (url.pathname === '/_koogate' || url.pathname.startsWith('/_koogate/')) return '/';
  return url.pathname + url.search + url.hash;
}
