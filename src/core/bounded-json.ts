/**
 * JSON.parse with a nesting limit checked first, in one pass over the text and without recursion: a body
 * nested thousands of levels deep is refused as a bad parameter instead of exhausting the stack of the
 * serialiser that canonicalises it for a signature. The kit and basic routes both read their bodies so.
 */
export type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

export function parseBoundedJson(text: string, maxDepth: number): Parsed {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return { ok: false, problem: `body is nested deeper than ${maxDepth} levels` };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, problem: 'body is not valid JSON' };
  }
}
