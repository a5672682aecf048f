import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * koogate's version, as package.json says it: found from this file whether it runs from src/ or
 * dist/src/ (the image keeps package.json beside dist/). One source, so `koogate --version`, healthz and
 * the start-up line never disagree with the package.
 */
export function packageVersion(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'koogate' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not one that parses): look further up.
    }
    if (dirname(dir) === dir) throw new Error('package.json of koogate not found');
  }
}

/** Read once, at load. */
export const VERSION: string = packageVersion();
