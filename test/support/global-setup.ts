import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Replica tests run koogate as real processes from dist/: build it once, fresh, before any test. */
export default function globalSetup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
