/**
 * Request targets of the kind open-redirect and path-confusion corpora hold (scheme-relative targets with
 * broken hosts, backslashes, encoded slashes and dots, absolute and odd forms), built as the product of
 * their parts so the set covers the class and not a handful of examples. Only bytes a raw request line
 * can carry (no space, CR, LF): what reaches koogate's own parser.
 */
export function hostileTargets(): string[] {
  const leads = ['//', '///', '////', '/\\', '\\/', '\\\\', '/\\/', '//\\', '/%09/', '//%09/', '/%2f', '/%2F/', '//%2f%2f', '/%5c', '/%5C/', '/.//', '/./\\', '/..//', '/%2e//', '/%2e%2e//', '/a/..//', '/a/%2e%2e//', '/;/', '//;@', 'http://', 'https://', 'http:/', 'http:\\\\', 'HtTp://', 'ftp://', 'javascript:', '', '*', '@'];
  const hosts = ['example.com', 'evil.example', '%09', '%00', '%zz', '%', '[', '[::1', '[::1]:x', ':99999', 'a:b@c', '@evil.example', '%E2%80%AE', '\u00e9xample', '\u00ff', 'xn--', '0x7f.1', '%5b', 'evil.example%2f..', 'evil.example;x', '..', '.', '%2e%2e', '\u0080'];
  const tails = ['', '/', '/x?y=1', '/%2e%2e/_koogate/login', '#f', '?//evil.example', '/..;/api/me'];
  const out = new Set<string>();
  for (const lead of leads) for (const host of hosts) for (const tail of tails) out.add(`${lead}${host}${tail}`);
  return [...out];
}
