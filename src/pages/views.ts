import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../observability/logger';

export type ViewVars = Record<string, string | undefined>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The operator's name and logo, shown on every page (KOOGATE_BRAND_NAME, KOOGATE_BRAND_LOGO_URL). */
export interface Brand {
  name?: string;
  logoUrl?: string;
}

export interface ViewsOptions {
  /** KOOGATE_VIEWS_DIR: templates here replace the built-in ones of the same name. */
  customDir?: string;
  brand?: Brand;
  log?: Logger;
}

/** The partials every page may insert raw; anything else in triple braces is a template error. */
const RAW = new Set(['head', 'brand', 'style']);
const MAX_TEMPLATE_BYTES = 256 * 1024;

/**
 * Koogate's own pages: `{{name}}` is escaped, `{{{head}}}` inserts _head.html (with _style.css inlined),
 * `{{{brand}}}` inserts _brand.html, `{{#name}}…{{/name}}` keeps its content only when `name` is set.
 * Templates are read once at start: the built-in ones from `views/`, then any of the same name from
 * KOOGATE_VIEWS_DIR. A custom template that does not parse is refused at start (logged, built-in used);
 * one that fails while rendering falls back to the built-in one, and that to a plain page: a page is
 * always served.
 */
export class Views {
  private readonly builtIn: Map<string, string>;
  private readonly custom = new Map<string, string>();
  private readonly brand: Brand;
  private readonly log?: Logger;

  constructor(dir: string, opts: ViewsOptions = {}) {
    this.builtIn = readTemplates(dir);
    this.brand = opts.brand ?? {};
    this.log = opts.log?.child({ component: 'views' });
    if (opts.customDir) {
      for (const [name, text] of readTemplates(opts.customDir)) {
        const problem = templateProblem(text);
        if (problem) this.log?.warn('custom template refused; the built-in one is used', { template: name, problem });
        else this.custom.set(name, text);
      }
      this.log?.info('custom templates', { dir: opts.customDir, templates: [...this.custom.keys()].sort() });
    }
  }

  /** The names of every page template (not partials). */
  get names(): string[] {
    return [...this.builtIn.keys()].filter((n) => !n.startsWith('_'));
  }

  render(name: string, vars: ViewVars): string {
    // Asking for a page that does not exist is the caller's mistake, not a template's: it throws.
    if (name.startsWith('_') || !this.builtIn.has(name)) throw new Error(`no view ${name}`);
    const all: ViewVars = { brandName: this.brand.name, brandLogoUrl: this.brand.logoUrl, ...vars };
    if (this.custom.size > 0) {
      try {
        return this.compose(name, all, true);
      } catch (e) {
        this.log?.error('custom template failed; the built-in one is used', { template: name, err: e instanceof Error ? e.message : String(e) });
      }
    }
    try {
      return this.compose(name, all, false);
    } catch (e) {
      this.log?.error('template failed; a plain page is served', { template: name, err: e instanceof Error ? e.message : String(e) });
      return plainPage(all);
    }
  }

  private pick(name: string, custom: boolean): string {
    const tpl = (custom ? this.custom.get(name) : undefined) ?? this.builtIn.get(name);
    if (tpl === undefined) throw new Error(`no view ${name}`);
    return tpl;
  }

  private compose(name: string, vars: ViewVars, custom: boolean): string {
    // Each template is filled once, then the partials go in: a value never passes through a second fill.
    const head = fill(this.pick('_head', custom), vars).replace('{{{style}}}', () => this.pick('_style', custom));
    const brand = vars.brandName || vars.brandLogoUrl ? fill(this.pick('_brand', custom), vars) : '';
    return fill(this.pick(name, custom), vars)
      .replace('{{{head}}}', () => head)
      .replace('{{{brand}}}', () => brand);
  }
}

/** `{{#key}}…{{/key}}` kept when the key is set, `{{key}}` escaped; `{{{partial}}}` left for compose. */
function fill(tpl: string, vars: ViewVars): string {
  return tpl
    .replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, k: string, inner: string) => (vars[k] ? inner : ''))
    .replace(/(?<!\{)\{\{(\w+)\}\}(?!\})/g, (_, k: string) => escapeHtml(vars[k] ?? ''));
}

/** Why a template cannot be used, or undefined: unknown raw partials, unbalanced sections, stray braces. */
export function templateProblem(text: string): string | undefined {
  if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES) return `larger than ${MAX_TEMPLATE_BYTES} bytes`;
  for (const m of text.matchAll(/\{\{\{(\w*)\}\}\}/g)) if (!RAW.has(m[1]!)) return `unknown raw partial {{{${m[1]}}}} (only head, brand, style)`;
  const stack: string[] = [];
  const rest = text.replace(/\{\{\{\w+\}\}\}/g, '');
  for (const m of rest.matchAll(/\{\{([#/]?)([^{}]*)\}\}/g)) {
    const [, kind, key] = m;
    if (!/^\w+$/.test(key!)) return `malformed tag {{${kind}${key}}}`;
    if (kind === '#') stack.push(key!);
    else if (kind === '/' && stack.pop() !== key) return `section {{/${key}}} closes nothing open`;
  }
  if (stack.length > 0) return `section {{#${stack[stack.length - 1]}}} is never closed`;
  if (/\{\{|\}\}/.test(rest.replace(/\{\{[#/]?\w+\}\}/g, ''))) return 'stray {{ or }}';
  return undefined;
}

/** The last resort: the page's title and message, escaped, no template involved. */
function plainPage(vars: ViewVars): string {
  const t = escapeHtml(vars.title ?? '');
  const m = escapeHtml(vars.message ?? '');
  const action = vars.actionHref ? `<p><a href="${escapeHtml(vars.actionHref)}">${escapeHtml(vars.actionLabel ?? vars.actionHref)}</a></p>` : '';
  return `<!doctype html><html lang="${escapeHtml(vars.lang ?? 'zh-CN')}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${t}</title></head><body><h1>${t}</h1><p>${m}</p>${action}</body></html>`;
}

function readTemplates(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir)) {
    const m = /^(_?[\w-]+)\.(html|css)$/.exec(f);
    if (!m || (m[2] === 'css' && m[1] !== '_style')) continue;
    out.set(m[1]!, readFileSync(join(dir, f), 'utf8'));
  }
  return out;
}

/** The shared style sheet (views/_style.css), which the demo's own pages use too. */
export function sharedStyle(dir: string = findViewsDir()): string {
  return readFileSync(join(dir, '_style.css'), 'utf8');
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
