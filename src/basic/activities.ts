import { z } from 'zod';
import { flagOf } from '../kit/fields';

/** The activities of the basic interfaces, V2 (docs/protocol.md §6.2). */
export const ACTIVITIES = [
  'newInstance',
  'queryInstance',
  'refreshInstance',
  'updateInstanceStatus',
  'releaseInstance',
  'upgradeInstance',
  'changeInstanceCheck',
] as const;

export type Activity = (typeof ACTIVITIES)[number];

export const isActivity = (s: unknown): s is Activity => typeof s === 'string' && (ACTIVITIES as readonly string[]).includes(s);

/**
 * An id of the marketplace's (orderId, orderLineId, businessId, instanceId): visible ASCII without a comma
 * (queryInstance lists ids comma-separated), so it is safe in store keys, logs and answers.
 */
const ID = /^[\x21-\x2b\x2d-\x7e]{1,64}$/;
const id = () => z.string({ error: 'must be a string' }).regex(ID, 'must be 1 to 64 visible ASCII characters, no comma');
const optionalId = () => id().optional();
const testFlag = flagOf([0, 1] as const).optional().transform((n) => n ?? 0);
const text = (max: number) => z.string({ error: 'must be a string' }).max(max).regex(/^[^\x00-\x1f\x7f]*$/, 'must not hold control characters');

/** UTC `yyyyMMddHHmmss` (documented) or `yyyyMMddHHmmssSSS` (seen): the ISO time, or null when it is no real time. */
export function parseExpireTime(s: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7]);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, se, ms));
  // Date.UTC rolls "month 13" over into a valid date; a real time has the fields it was given.
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== se) {
    return null;
  }
  return t.toISOString();
}

const expireTime = z
  .string({ error: 'must be a string' })
  .transform((s, ctx) => {
    const iso = parseExpireTime(s);
    if (iso === null) ctx.addIssue({ code: 'custom', message: 'must be a UTC time as yyyyMMddHHmmss or yyyyMMddHHmmssSSS' });
    return iso ?? '';
  });

/** A JSON object field that senders may also send as a JSON string holding one. */
const objectOrJson = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, schema);

export const SCENES = ['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE'] as const;
export type Scene = (typeof SCENES)[number];

export const activitySchemas = {
  newInstance: z.object({
    orderId: id(),
    orderLineId: id(),
    businessId: id(),
    /** Not in the V2 table, but sent by some products: "1" marks a trial. */
    trialFlag: flagOf([0, 1] as const).optional(),
    testFlag,
  }),
  queryInstance: z.object({
    instanceId: z
      .string({ error: 'must be a string' })
      .max(100 * 65)
      .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter((x) => x !== ''))])
      .pipe(z.array(id()).min(1, 'names no instance').max(100, 'names more than 100 instances')),
    testFlag,
  }),
  refreshInstance: z.object({
    scene: z.enum(SCENES, { error: `must be one of ${SCENES.join(', ')}` }),
    orderId: id(),
    orderLineId: id(),
    instanceId: id(),
    productId: optionalId(),
    expireTime,
    testFlag,
  }),
  updateInstanceStatus: z.object({
    instanceId: id(),
    status: z.enum(['FREEZE', 'UNFREEZE'], { error: 'must be FREEZE or UNFREEZE' }),
    testFlag,
  }),
  releaseInstance: z.object({ instanceId: id(), orderId: optionalId(), orderLineId: optionalId(), testFlag }),
  upgradeInstance: z.object({ instanceId: id(), orderId: id(), orderLineId: id(), testFlag }),
  changeInstanceCheck: z.object({
    instanceId: id(),
    productInfo: objectOrJson(
      z.object(
        {
          productId: id(),
          skuCode: id(),
          linearValue: z.union([text(64), z.number().finite()]).optional(),
          productName: text(256).optional(),
        },
        { error: 'must be an object (or a JSON string holding one) with productId and skuCode' },
      ),
    ),
    testFlag,
  }),
} satisfies Record<Activity, z.ZodType>;

export type ActivityBody<A extends Activity> = z.infer<(typeof activitySchemas)[A]>;
