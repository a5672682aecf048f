import { z } from 'zod';

/** Field shapes shared by the kit interfaces; numbers may arrive as numbers or numeric strings. */
export const flagOf = <T extends readonly number[]>(allowed: T) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .refine((n): n is T[number] => allowed.includes(n), { message: `must be one of ${allowed.join(', ')}` });

export const id = (max = 64) => z.string().trim().min(1, 'is required').max(max);
export const optionalText = (max = 256) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((s) => s ?? '');
export const testFlag = flagOf([0, 1] as const).optional().transform((n) => n ?? 0);
/** UTC+8 yyyyMMddHHmmssSSS. */
export const timeStamp = z.string().regex(/^\d{17}$/, 'must be yyyyMMddHHmmssSSS').optional();

/** A key the protocol identifies things by (userName, orgCode): not blank, kept exactly as sent. */
export const key = (max = 128) =>
  z
    .string()
    .max(max)
    .refine((s) => s.trim() !== '', 'is required');

/** An optional field of a nested entry; nested nulls are kept by the signature and mean "absent" here. */
export const maybeText = (max = 256) =>
  z
    .string()
    .max(max)
    .nullish()
    .transform((s) => s ?? undefined);

/** A list field that senders send as an array or as a JSON string holding one (docs/protocol.md §3.5, §3.7). */
export const listOf = <T extends z.ZodType>(item: T, what: string) =>
  z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v;
      }
    },
    z.array(item, { error: `must be an array of ${what} (or a JSON string holding one)` }),
  );

/**
 * Top-level nulls are not part of the signed payload (§3.1: Jackson writes absent fields as null), so they
 * mean "absent" to the schemas too.
 */
export function withoutNulls(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
}

/**
 * The first problems of a refused body, for the answer. Built from the schema's own words only: a path
 * element that is no plain field name or index, and the names of unknown keys, are never echoed.
 */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' || (typeof p === 'string' && FIELD_NAME.test(p)) ? String(p) : '?')).join('.');
      return `${path || 'body'}: ${i.code === 'unrecognized_keys' ? 'unknown field' : i.message}`;
    })
    .join('; ');
}

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
