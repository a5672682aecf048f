/**
 * Every entry of the shared reference vectors (computed with the JDK and Jackson) must be reproduced.
 * A kind without a handler fails, so a new entry in the file cannot go unchecked.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decryptBasicAes, encryptBasicAes, sha1prngKey, signBasicV2, verifyBasicV2Signature } from '../../../src/crypto/basic-lifecycle';
import {
  canonicalPayload,
  signKitV2,
  v1AuthToken,
  v1BodySign,
  v1SignedString,
  verifyKitV2Signature,
  verifyV1AuthToken,
} from '../../../src/crypto/kit-signature';
import {
  decryptOaep,
  encryptOaep,
  loadPrivateKey,
  loadPublicKey,
  OAEP_VARIANTS,
  OaepError,
  publicKeyFrom,
  type OaepVariant,
} from '../../../src/crypto/rsa-oaep';

// The marketplace contract's own file, beside the repository (CI always has it); the copy in test/fixtures
// keeps a checkout without it testable, and must stay identical to it.
const SHARED_PATH = path.resolve(__dirname, '../../../../shared/koogallery/vectors.json');
const FIXTURE_PATH = path.resolve(__dirname, '../../fixtures/koogallery-vectors.json');
const VECTORS_PATH = existsSync(SHARED_PATH) ? SHARED_PATH : FIXTURE_PATH;

type Json = Record<string, unknown>;

const raw: unknown = JSON.parse(readFileSync(VECTORS_PATH, 'utf8'));
if (!Array.isArray(raw)) throw new Error(`${VECTORS_PATH}: expected an array`);
const vectors = raw as Json[];

test('the fixture copy of the vectors is the shared file, byte for byte', () => {
  expect(existsSync(SHARED_PATH)).toBe(true);
  expect(readFileSync(FIXTURE_PATH, 'utf8')).toBe(readFileSync(SHARED_PATH, 'utf8'));
});

function obj(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: expected an object`);
  return value as Json;
}

function str(o: Json, key: string): string {
  const value = o[key];
  if (typeof value !== 'string') throw new Error(`vector field ${key}: expected a string`);
  return value;
}

function num(o: Json, key: string): number {
  const value = o[key];
  if (typeof value !== 'number') throw new Error(`vector field ${key}: expected a number`);
  return value;
}

function stringRecord(value: unknown): Record<string, string> {
  const o = obj(value, 'params');
  return Object.fromEntries(Object.keys(o).map((k) => [k, str(o, k)]));
}

const TRANSFORMATIONS: Record<string, OaepVariant> = {
  'RSA/ECB/OAEPWithSHA-256AndMGF1Padding': 'sha256-mgf1sha1',
  'RSA/ECB/OAEPWithSHA-1AndMGF1Padding': 'sha1',
  'RSA/ECB/OAEPPadding': 'sha1',
};

const handlers: Record<string, (v: Json) => void> = {
  'kit-v2-sign': (v) => {
    const input = obj(v['input'], 'input');
    const body = str(input, 'body');
    const parsed: unknown = JSON.parse(body);
    const payload = canonicalPayload(parsed);
    expect(payload).toBe(str(v, 'canonicalPayload'));
    const [accessKey, nonce, timestamp] = [str(input, 'accessKey'), str(input, 'nonce'), str(input, 'timestamp')];
    expect(signKitV2(accessKey, nonce, timestamp, payload)).toBe(str(v, 'xSign'));
    const xSign = str(v, 'xSign');
    expect(verifyKitV2Signature({ accessKey, nonce, timestamp, xSign, rawBody: body, parsedBody: parsed })).toBe('canonical');
    expect(verifyKitV2Signature({ accessKey, nonce, timestamp, xSign: xSign.toUpperCase(), rawBody: body, parsedBody: parsed })).toBe(
      'canonical',
    );
  },
  'v1-auth-token': (v) => {
    const input = obj(v['input'], 'input');
    const params = stringRecord(input['params']);
    expect(v1SignedString(params)).toBe(str(v, 'signedString'));
    const token = v1AuthToken(str(input, 'accessKey'), str(input, 'timeStamp'), params);
    expect(token).toBe(str(v, 'authToken'));
    expect(verifyV1AuthToken(str(input, 'accessKey'), str(input, 'timeStamp'), params, str(v, 'authToken'))).toBe(true);
  },
  'v1-body-sign': (v) => {
    const input = obj(v['input'], 'input');
    const body = str(input, 'body');
    expect(v1BodySign(str(input, 'accessKey'), body)).toBe(str(v, 'bodySign'));
    expect(v1BodySign(str(input, 'accessKey'), Buffer.from(body, 'utf8'))).toBe(str(v, 'bodySign'));
  },
  'rsa-oaep': (v) => {
    const input = obj(v['input'], 'input');
    const expectedVariant = TRANSFORMATIONS[str(input, 'transformation')];
    if (expectedVariant === undefined) throw new Error(`unknown transformation ${str(input, 'transformation')}`);
    const privateKey = loadPrivateKey(str(v, 'privateKeyPem'));
    const publicKey = loadPublicKey(str(v, 'publicKeyPem'));
    expect(publicKeyFrom(privateKey).export({ type: 'spki', format: 'pem' })).toBe(str(v, 'publicKeyPem'));

    const ciphertext = Buffer.from(str(v, 'ciphertextBase64'), 'base64');
    const result = decryptOaep(privateKey, ciphertext);
    expect(result.plaintext.toString('utf8')).toBe(str(input, 'plaintext'));
    expect(result.variant).toBe(expectedVariant);
    const others = OAEP_VARIANTS.filter((x) => x !== expectedVariant);
    expect(() => decryptOaep(privateKey, ciphertext, others)).toThrow(OaepError);

    const again = encryptOaep(publicKey, Buffer.from(str(input, 'plaintext'), 'utf8'), expectedVariant);
    expect(decryptOaep(privateKey, again, [expectedVariant]).plaintext.toString('utf8')).toBe(str(input, 'plaintext'));
  },
  'basic-v2-sign': (v) => {
    const input = obj(v['input'], 'input');
    const payload = canonicalPayload(JSON.parse(str(input, 'body')));
    expect(payload).toBe(str(v, 'canonicalPayload'));
    const [accessKey, nonce, timestamp] = [str(input, 'accessKey'), str(input, 'nonce'), str(input, 'timestamp')];
    expect(signBasicV2(accessKey, nonce, timestamp, payload)).toBe(str(v, 'signature'));
    expect(verifyBasicV2Signature(accessKey, nonce, timestamp, payload, str(v, 'signature').toUpperCase())).toBe(true);
  },
  'aes-sha1prng': (v) => {
    const input = obj(v['input'], 'input');
    const bits = num(input, 'bits');
    if (bits !== 128 && bits !== 256) throw new Error(`unsupported key size ${bits}`);
    const accessKey = str(input, 'accessKey');
    expect(sha1prngKey(accessKey, bits).toString('hex')).toBe(str(v, 'keyHex'));
    expect(encryptBasicAes(accessKey, str(input, 'plaintext'), bits, str(input, 'iv'))).toBe(str(v, 'ciphertext'));
    expect(decryptBasicAes(accessKey, str(v, 'ciphertext'), bits)).toBe(str(input, 'plaintext'));
  },
};

describe('shared reference vectors', () => {
  it('the file holds entries', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  it('every kind in the file has a handler, and every handler has an entry', () => {
    const kinds = new Set(vectors.map((v) => v['kind']));
    for (const kind of kinds) expect(Object.keys(handlers)).toContain(kind);
    for (const kind of Object.keys(handlers)) expect([...kinds]).toContain(kind);
  });

  it.each(vectors.map((v, i) => [`#${i} ${String(v['kind'])}`, v] as const))('reproduces %s', (_name, vector) => {
    const kind = vector['kind'];
    const handler = typeof kind === 'string' ? handlers[kind] : undefined;
    if (handler === undefined) throw new Error(`no handler for vector kind ${String(kind)}`);
    handler(vector);
  });
});
