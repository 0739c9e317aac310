import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TOKEN } from './__fixtures__/inputs.js';
import { isPlainForgejoToken, yamlScalar } from './render-scalar.js';

/** What the library writes for the token: the answer the fast path must give. */
const library = (token: string) => stringify(token, { version: '1.1', lineWidth: 0 }).trimEnd();

const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
// The hex digits a YAML 1.1 number can be spelled with, so most of these are numbers or close to one.
const numberish40 = fc.stringMatching(/^[0-9be]{40}$/);
const oneLetterIn = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.integer({ min: 0, max: 39 }), fc.constantFrom('a', 'c', 'd', 'f'))
    .map(([text, at, letter]) => `${text.slice(0, at)}${letter}${text.slice(at + 1)}`);
const binary40 = fc.stringMatching(/^0b[01]{38}$/);

const digits = '1234567890'.repeat(4);
const edgeCases: Array<[string, string]> = [
  ['all digits', digits],
  ['all zeros', '0'.repeat(40)],
  ['leading zero, octal digits', `0${'7'.repeat(39)}`],
  ['leading zero, decimal digits', `0${'9'.repeat(39)}`],
  ['all digits but an a first', `a${digits.slice(1)}`],
  ['all digits but an f in the middle', `${digits.slice(0, 20)}f${digits.slice(21)}`],
  ['all digits but a c last', `${digits.slice(0, 39)}c`],
  ['all digits but a d after a leading zero', `0d${digits.slice(2)}`],
  ['all digits but a b', `${digits.slice(0, 10)}b${digits.slice(11)}`],
  ['all digits but an e', `${digits.slice(0, 10)}e${digits.slice(11)}`],
  ['0b and binary digits', `0b${'01'.repeat(19)}`],
  ['0b, binary digits and a 2', `0b${'01'.repeat(18)}02`],
  ['0b, binary digits and an a', `0b${'01'.repeat(18)}0a`],
  ['0x and hex digits (x is no hex digit)', `0x${'0123456789abcdef'.repeat(3).slice(0, 38)}`],
  ['digits e digits', `${'1'.repeat(20)}e${'2'.repeat(19)}`],
  ['e and digits', `e${'5'.repeat(39)}`],
  ['digits and e last', `${'5'.repeat(39)}e`],
  ['two e', `1e${'0'.repeat(37)}e1`],
  ['digits E digits', `${'1'.repeat(20)}E${'2'.repeat(19)}`],
  ['all b', 'b'.repeat(40)],
  ['all e', 'e'.repeat(40)],
  ['all f', 'f'.repeat(40)],
  ['uppercase hex', TOKEN.toUpperCase()],
  ['39 hex digits', TOKEN.slice(1)],
  ['41 hex digits', `${TOKEN}a`],
  ['underscored digits', '1_000_000_000_000_000'],
  ['the fixture token', TOKEN],
];

describe('yamlScalar', () => {
  it.each(edgeCases)('writes what the YAML library writes: %s', (_name, token) => {
    expect(yamlScalar(token)).toBe(library(token));
  });

  it('quotes the tokens YAML 1.1 reads as numbers, as the library does', () => {
    expect(yamlScalar(digits)).toBe(`"${digits}"`);
    expect(yamlScalar(`0b${'01'.repeat(19)}`)).toBe(`"0b${'01'.repeat(19)}"`);
    expect(yamlScalar(`e${'5'.repeat(39)}`)).toBe(`"e${'5'.repeat(39)}"`);
  });

  it('writes what the YAML library writes for 2,000 random 40-hex tokens', () => {
    fc.assert(
      fc.property(hex40, (token) => yamlScalar(token) === library(token)),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('writes what the YAML library writes for tokens of the digits numbers are made of', () => {
    const tokens = fc.oneof(numberish40, oneLetterIn(numberish40), binary40, oneLetterIn(binary40));
    fc.assert(
      fc.property(tokens, (token) => yamlScalar(token) === library(token)),
      { numRuns: 2000, seed: 12 },
    );
  });

  it('writes what the YAML library writes for other token shapes', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._~+/=-]{16,80}$/),
        (token) => yamlScalar(token) === library(token),
      ),
      { numRuns: 500, seed: 13 },
    );
  });
});

describe('isPlainForgejoToken', () => {
  it('takes the fast path only where the library writes the token as it is', () => {
    const tokens = fc.oneof(hex40, oneLetterIn(numberish40), oneLetterIn(binary40));
    fc.assert(
      fc.property(tokens, (token) => !isPlainForgejoToken(token) || library(token) === token),
      { numRuns: 2000, seed: 14 },
    );
  });

  it('holds for most Forgejo tokens and leaves the number-like ones to the library', () => {
    expect(isPlainForgejoToken(TOKEN)).toBe(true);
    expect(isPlainForgejoToken(digits)).toBe(false);
    expect(isPlainForgejoToken(`0b${'01'.repeat(19)}`)).toBe(false);
    expect(isPlainForgejoToken(`${'1'.repeat(20)}e${'2'.repeat(19)}`)).toBe(false);
    expect(isPlainForgejoToken(TOKEN.toUpperCase())).toBe(false);
  });
});
