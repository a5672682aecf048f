/** Kit-sync result codes (docs/protocol.md §3.2). Failures still answer HTTP 200 with a code. */
export const KIT_RESULT = {
  success: '000000',
  badSignature: '000001',
  badParameter: '000002',
  decryptFailed: '000101',
  internal: '000500',
} as const;

export type KitResultCode = (typeof KIT_RESULT)[keyof typeof KIT_RESULT];

export interface KitAnswer {
  resultCode: KitResultCode;
  resultMsg: string;
}

export class KitFailure extends Error {
  constructor(
    readonly resultCode: KitResultCode,
    readonly resultMsg: string,
  ) {
    super(resultMsg);
    this.name = 'KitFailure';
  }
}

export const kitSuccess = (): KitAnswer => ({ resultCode: KIT_RESULT.success, resultMsg: 'Success' });
