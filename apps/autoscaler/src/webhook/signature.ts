import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks `X-Forgejo-Signature` (lowercase hex HMAC-SHA256 of the raw body with the hook secret)
 * in constant time. Anything but 64 hex digits is simply wrong, without comparing.
 */
export function signatureValid(secret: string, rawBody: Uint8Array, signature: string): boolean {
  if (!HEX_SHA256.test(signature)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/** The hex signature Forgejo would send; for tests and the fakes. */
export function sign(secret: string, rawBody: string | Uint8Array): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}
