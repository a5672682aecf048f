import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type ViewVars = Record<string, string | undefined>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/**
 * Koogate's own pages from `views/`: `{{name}}` is escaped, `{{{head}}}` inserts views/_head.html (with views/_style.css),
 * `{{#name}}…{{/name}}` keeps its content only when `name` is set. Templates are read once at start.
 */
export class Views {
  private readonly templates = new Map<string, string>();
  private readonly head: string;

  constructor(dir: string) {
    for (const f of readdirSync(dir)) if (f.endsWith('.html') && !f.startsWith('_')) this.templates.set(f.slice(0, -5), readFileSync(join(dir, f), 'utf8'));
    // Every page shares one <head> (views/_head.html) with the style sheet inlined: no extra request.
    this.head = readFileSync(join(dir, '_head.html'), 'utf8').replace('{{{style}}}', readFileSync(join(dir, '_style.css'), 'utf8'));
  }

  render(name: string, vars: ViewVars): string {
    const tpl = this.templates.get(name);
    if (tpl === undefined) throw new Error(`no view ${name}`);
    return tpl
      .replace('{{{head}}}', this.head)
      .replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, k: string, inner: string) => (vars[k] ? inner : ''))
      .replace(/\{\{(\w+)\}\}/g, (_, k: string) => escapeHtml(vars[k] ?? ''));
  }
}

/** The `views/` folder of the package, found from this file whether it runs from src/ or dist/src/. */
export function findViewsDir(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'views', 'error.html'))) return join(dir, 'views');
    const up = dirname(dir);
    if (up === dir) throw new Error('views/ folder not found');
    dir = up;
  }
}
