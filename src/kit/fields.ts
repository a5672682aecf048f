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

/** A readable one-line summary of the first problems zod found, for resultMsg. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
    .join('; ');
}
