/** Result codes of the basic interfaces (docs/protocol.md §6.2). Every answer is HTTP 200 with one of them. */
export const BASIC_RESULT = {
  success: '000000',
  authFailed: '000001',
  badParameter: '000002',
  noInstance: '000003',
  processing: '000004',
  internal: '000005',
} as const;

/** A code koogate answers: the protocol's, or a refusal code the app's hook chose (six digits). */
export type BasicResultCode = string;

export interface BasicAnswer {
  resultCode: BasicResultCode;
  resultMsg: string;
  /** Further fields of the activity's answer (newInstance's instanceId, queryInstance's info). */
  [field: string]: unknown;
}

export class BasicFailure extends Error {
  constructor(
    readonly resultCode: BasicResultCode,
    readonly resultMsg: string,
  ) {
    super(resultMsg);
    this.name = 'BasicFailure';
  }
}

export const basicSuccess = (extra: Record<string, unknown> = {}): BasicAnswer => ({ resultCode: BASIC_RESULT.success, resultMsg: 'Success', ...extra });
