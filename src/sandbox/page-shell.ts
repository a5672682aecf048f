import type { Response } from 'express';

/**
 * The one page shell of the sandbox's HTML: the stand-in marketplace's pages and the demo app's. Each
 * brings its own style and content; the shell gives the document, the head and the answer's headers.
 */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

export interface Shell {
  /** Already escaped where it needs to be. */
  title: string;
  style: string;
  /** With a nonce the style carries it (CSP `style-src 'nonce-…'`); without one it is inline. */
  nonce?: string;
  /** Everything inside <body>. */
  body: string;
}

export function pageShell(s: Shell): string {
  const nonce = s.nonce === undefined ? '' : ` nonce="${escapeHtml(s.nonce)}"`;
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${s.title}</title>
<style${nonce}>${s.style}</style>
</head>
<body>
${s.body}</body>
</html>
`;
}

/** Sends a page with the headers every sandbox page carries, and its own Content-Security-Policy. */
export function sendPage(res: Response, status: number, html: string, csp: string, extra: Record<string, string> = {}): void {
  res
    .status(status)
    .set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff', ...extra })
    .send(html);
}
