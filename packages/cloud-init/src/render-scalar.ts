import { stringify } from 'yaml';

/** The token as YAML 1.1 writes it as a mapping value: plain, or quoted where it would read as a number. */
export function yamlScalar(token: string): string {
  if (isPlainForgejoToken(token)) return token;
  return stringify(token, { version: '1.1', lineWidth: 0 }).trimEnd();
}

const FORGEJO_TOKEN = /^[0-9a-f]{40}$/;
const NOT_IN_ANY_NUMBER = /[acdf]/;

/**
 * Whether the YAML library would write this token as it is, decided without asking it (asking
 * costs more than the rest of a templated render). Hex digits are no YAML indicator, space, colon
 * or control character, so the library quotes a hex string only when a YAML 1.1 rule of its
 * schema would read it as something else: null, bool, int
 * (0b…, 0…, decimal, 0x…, base 60), float (1e5, 1.5, .inf, base 60), timestamp or `<<`. Spelled in
 * lowercase hex, only digits and the `b` of 0b… and the `e` of 1e5 can make one of those (`x` is
 * not a hex digit; every word form and the rest need a letter or sign that is not hex), so 40 hex
 * digits with an a, c, d or f are a string to every rule. That is most of Forgejo's tokens; the
 * others, and any other token shape, go to the library. render-scalar.test.ts holds both to it.
 */
export function isPlainForgejoToken(token: string): boolean {
  return FORGEJO_TOKEN.test(token) && NOT_IN_ANY_NUMBER.test(token);
}
