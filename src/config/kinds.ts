import { readFileSync } from 'node:fs';

/**
 * The kinds of setting the schema (schema.ts) declares. A kind fixes a setting's type, how its text is
 * parsed and the wording of its start-up error, so every setting of one kind reads and fails alike.
 */

/** Reports one problem; loadConfig collects them all and names every one in a single error. */
export type Problem = (text: string) => void;

export interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  /** What it does, as the README's table says it. */
  readonly meaning: string;
  readonly required: boolean;
  /** The default as the README shows it; undefined: none. */
  readonly shownDefault?: string;
  /** Never quoted in a problem message. */
  readonly secret: boolean;
  /** Also readable from `<env>_FILE` (a path), with this meaning in the README; the variable itself wins. */
  readonly file?: string;
  /** The value of the raw text (undefined: unset or blank). Bad text is reported and a stand-in returned. */
  parse(raw: string | undefined, problem: Problem): T;
}

/** A nested object of settings: one module's sub-object of Config. */
export interface Schema {
  readonly [key: string]: Setting<unknown> | Schema;
}

/** The typed values a schema declares. */
export type ValuesOf<S extends Schema> = {
  -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : S[K] extends Schema ? ValuesOf<S[K]> : never;
};

export type Env = Record<string, string | undefined>;

export function isSetting(x: Setting<unknown> | Schema): x is Setting<unknown> {
  return typeof (x as Setting<unknown>).parse === 'function' && typeof (x as Setting<unknown>).env === 'string';
}

interface Common {
  env: string;
  meaning: string;
}

interface Secretive {
  /** Keep the value out of messages. */
  secret?: boolean;
  /** Also read `<env>_FILE`; the text is the README's meaning of that variable (true: a standard one). */
  file?: boolean | string;
}

function fileMeaning(env: string, file: boolean | string | undefined): string | undefined {
  if (!file) return undefined;
  return file === true ? `Path of a file holding ${env} (keeps the secret out of the environment).` : file;
}

const quote = (secret: boolean, raw: string) => (secret ? '' : ` (got "${raw}")`);

/** A whole number within bounds. */
export function int(o: Common & { default: number; min: number; max: number }): Setting<number> {
  return {
    env: o.env,
    meaning: o.meaning,
    required: false,
    shownDefault: String(o.default),
    secret: false,
    parse(raw, problem) {
      const text = raw?.trim() ?? String(o.default);
      const n = Number(text);
      if (!Number.isInteger(n) || n < o.min || n > o.max) {
        problem(`${o.env} must be a whole number from ${o.min} to ${o.max} (got "${text}")`);
        return o.min;
      }
      return n;
    },
  };
}

/** The words a boolean setting accepts; undefined when the text is none of them. */
export function parseBoolean(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return undefined;
}

/** true/1/yes or false/0/no. */
export function flag(o: Common & { default: boolean }): Setting<boolean> {
  return {
    env: o.env,
    meaning: o.meaning,
    required: false,
    shownDefault: String(o.default),
    secret: false,
    parse(raw, problem) {
      if (raw === undefined) return o.default;
      const v = parseBoolean(raw);
      if (v === undefined) problem(`${o.env} must be true or false (got "${raw.trim().toLowerCase()}")`);
      return v ?? o.default;
    },
  };
}

/** One of a few words. */
export function choice<const V extends string>(o: Common & { values: readonly V[]; default: NoInfer<V> }): Setting<V> {
  const list = o.values.length > 1 ? `${o.values.slice(0, -1).join(', ')} or ${o.values.at(-1)}` : String(o.values[0]);
  return {
    env: o.env,
    meaning: o.meaning,
    required: false,
    shownDefault: o.default,
    secret: false,
    parse(raw, problem) {
      if (raw === undefined) return o.default;
      const v = raw.trim();
      if ((o.values as readonly string[]).includes(v)) return v as V;
      problem(`${o.env} must be ${list} (got "${v}")`);
      return o.default;
    },
  };
}

interface TextOptions extends Common, Secretive {
  default?: string;
  required?: boolean;
  minLength?: number;
  /** A further rule: the problem text, or undefined when the value is good. */
  check?: (value: string) => string | undefined;
}

/** Free text, trimmed. With neither a default nor `required`, unset is undefined. */
export function text(o: TextOptions & ({ default: string } | { required: true })): Setting<string>;
export function text(o: TextOptions): Setting<string | undefined>;
export function text(o: TextOptions): Setting<string | undefined> {
  const secret = o.secret ?? false;
  return {
    env: o.env,
    meaning: o.meaning,
    required: o.required ?? false,
    shownDefault: o.default,
    secret,
    file: fileMeaning(o.env, o.file),
    parse(raw, problem) {
      if (raw === undefined) return o.default ?? (o.required ? '' : undefined);
      const v = raw.trim();
      if (o.minLength !== undefined && v.length < o.minLength) problem(`${o.env} must be at least ${o.minLength} characters`);
      const bad = o.check?.(v);
      if (bad) problem(`${o.env} ${bad}${quote(secret, v)}`);
      return v;
    },
  };
}

/** A comma-separated list, each item trimmed, empty items dropped; unset is the empty list. */
export function list(o: TextOptions & { item?: (value: string) => string | undefined }): Setting<string[]> {
  const secret = o.secret ?? false;
  return {
    env: o.env,
    meaning: o.meaning,
    required: o.required ?? false,
    secret,
    file: fileMeaning(o.env, o.file),
    parse(raw, problem) {
      const items = splitList(raw);
      if (raw !== undefined && items.length === 0) problem(`${o.env} holds no value, only separators`);
      if (o.minLength !== undefined && items.some((s) => s.length < o.minLength!)) problem(`${o.env}: each one must be at least ${o.minLength} characters`);
      for (const item of items) {
        const bad = o.item?.(item);
        if (bad) problem(`${o.env}: ${secret ? 'an item' : `"${item}"`} ${bad}`);
      }
      return items;
    },
  };
}

/** An absolute http(s) URL; with `required`, always a URL, else undefined when unset. */
export function url(o: Common & { required: true; check?: (u: URL) => string | undefined }): Setting<URL>;
export function url(o: Common & { check?: (u: URL) => string | undefined }): Setting<URL | undefined>;
export function url(o: Common & { required?: boolean; check?: (u: URL) => string | undefined }): Setting<URL | undefined> {
  const standIn = () => new URL('http://invalid.invalid');
  return {
    env: o.env,
    meaning: o.meaning,
    required: o.required ?? false,
    secret: false,
    parse(raw, problem) {
      if (raw === undefined) return o.required ? standIn() : undefined;
      const v = raw.trim();
      let u: URL | undefined;
      try {
        u = new URL(v);
      } catch {
        /* reported below */
      }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
        problem(`${o.env} must be an absolute http(s) URL (got "${v}")`);
        return standIn();
      }
      const bad = o.check?.(u);
      if (bad) problem(`${o.env} ${bad}`);
      return u;
    },
  };
}

/**
 * A PEM private key. In the variable, literal `\n` stand for line breaks (one-line env files); the
 * text is otherwise kept as given.
 */
export function pem(o: Common & Secretive & { required?: boolean; label: RegExp; invalid: string }): Setting<string | undefined> {
  return {
    env: o.env,
    meaning: o.meaning,
    required: o.required ?? false,
    secret: true,
    file: fileMeaning(o.env, o.file),
    parse(raw, problem) {
      if (raw === undefined) return undefined;
      const v = raw.replace(/\\n/g, '\n');
      if (!o.label.test(v)) problem(o.invalid);
      return v;
    },
  };
}

/** A setting whose text has a shape of its own (the trust-proxy value, for one). */
export function custom<T>(o: Common & { default: string; parse: (text: string, problem: Problem) => T }): Setting<T> {
  return {
    env: o.env,
    meaning: o.meaning,
    required: false,
    shownDefault: o.default,
    secret: false,
    parse: (raw, problem) => o.parse(raw?.trim() ?? o.default, problem),
  };
}

/** At most `points` requests per client address in a window of `seconds`. */
export interface Rate {
  points: number;
  seconds: number;
}

/** A rate limit: `<requests>/<seconds>` (600/60), or `off` (null). */
export function rate(o: Common & { default: string }): Setting<Rate | null> {
  return custom({
    ...o,
    parse(given, problem) {
      // Set but blank is the default too.
      const text = given || o.default;
      if (text.toLowerCase() === 'off') return null;
      const m = /^(\d{1,7})\s*\/\s*(\d{1,6})$/.exec(text);
      const points = Number(m?.[1]);
      const seconds = Number(m?.[2]);
      if (!m || points < 1 || seconds < 1 || seconds > 86_400) {
        problem(`${o.env} must be <requests>/<seconds> (e.g. 600/60; a window of at most a day) or off (got "${text}")`);
        return null;
      }
      return { points, seconds };
    },
  });
}

export function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

/**
 * The raw text of one setting: the variable, else (when the setting allows it) the file `<env>_FILE`
 * names. Blank counts as unset. A missing required setting and an unreadable file are reported here.
 */
export function readRaw(s: Setting<unknown>, env: Env, problem: Problem): string | undefined {
  const v = env[s.env];
  if (nonEmpty(v)) return v;
  const fileVar = `${s.env}_FILE`;
  const path = s.file ? env[fileVar] : undefined;
  if (nonEmpty(path)) {
    let text: string;
    try {
      text = readFileSync(path.trim(), 'utf8');
    } catch (e) {
      problem(`${fileVar} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${path.trim()})`);
      return undefined;
    }
    // An empty secret file (a mount that did not happen, a template left blank) is no secret at all:
    // taken as "", a signing key would let anyone sign.
    if (!nonEmpty(text)) {
      problem(`${fileVar} names an empty file (${path.trim()}): put the value in it, or unset ${fileVar}`);
      return undefined;
    }
    return text;
  }
  if (s.required) problem(`${s.file ? `${s.env} or ${fileVar}` : s.env} is required: ${s.meaning}`);
  return undefined;
}

/** Every variable a setting answers to: itself, and `<env>_FILE` where allowed. */
export function variablesOf(s: Setting<unknown>): string[] {
  return s.file ? [s.env, `${s.env}_FILE`] : [s.env];
}

export function isSet(s: Setting<unknown>, env: Env): boolean {
  return variablesOf(s).some((name) => nonEmpty(env[name]));
}
