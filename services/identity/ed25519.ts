// Ed25519 keys and signatures (seed 002 §9.1) with node:crypto. A private key is made from a
// 32-byte seed, so an agent's key can be derived again from a secret (the simulator replays its
// mesh); only public keys ever leave the process that signs.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER of an Ed25519 public key is this prefix followed by the 32 raw bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface SigningKey {
  readonly keyId: string;
  /** Raw public key, 32 bytes. */
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

/** Hex of the first 8 bytes of SHA-256 of the raw public key. */
export const keyIdOf = (publicKey: Uint8Array) => createHash('sha256').update(publicKey).digest('hex').slice(0, 16);

/** The key of a 32-byte seed; any other length is hashed to 32 bytes first. */
export function signingKeyFromSeed(seed: Uint8Array | string): SigningKey {
  const raw = typeof seed !== 'string' && seed.length === 32 ? Buffer.from(seed) : createHash('sha256').update(seed).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(der.subarray(SPKI_PREFIX.length));
  return { keyId: keyIdOf(publicKey), publicKey, privateKey };
}

export const signBytes = (key: SigningKey, data: Uint8Array): Buffer => sign(null, data, key.privateKey);

const publicKeys = new Map<string, KeyObject>();

/** A verifier's KeyObject per raw key, made once: importing a key cost more than verifying. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  const hex = Buffer.from(raw).toString('hex');
  let k = publicKeys.get(hex);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeys.size > 100_000) publicKeys.clear();
    publicKeys.set(hex, k);
  }
  return k;
}

export function verifyBytes(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
