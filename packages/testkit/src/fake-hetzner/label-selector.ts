/**
 * Hetzner's label selector language: `k=v` / `k==v`, `k!=v`, `k`, `!k`, `k in (v1,v2)`,
 * `k notin (v1,v2)`, joined by commas meaning AND.
 */
export type Labels = Readonly<Record<string, string>>;
type Test = (labels: Labels) => boolean;

export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

const TOKEN = /^[A-Za-z0-9._/-]*$/;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0) throw new LabelSelectorError('unbalanced ")"');
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (depth !== 0) throw new LabelSelectorError('unbalanced "("');
  parts.push(current);
  return parts.map((p) => p.trim());
}

function word(text: string, what: string): string {
  const value = text.trim();
  if (!TOKEN.test(value) || (what === 'key' && value === '')) {
    throw new LabelSelectorError(`invalid ${what} "${value}"`);
  }
  return value;
}

function term(text: string): Test {
  if (text === '') throw new LabelSelectorError('empty expression');
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set !== null) {
    const [, rawKey, op, list] = set as unknown as [string, string, string, string];
    const key = word(rawKey, 'key');
    const values = list.split(',').map((v) => word(v, 'value'));
    return op === 'in'
      ? (labels) => labels[key] !== undefined && values.includes(labels[key])
      : (labels) => labels[key] === undefined || !values.includes(labels[key]);
  }
  if (text.startsWith('!')) {
    const key = word(text.slice(1), 'key');
    return (labels) => labels[key] === undefined;
  }
  const compare = /^([^=!]+)(==|=|!=)(.*)$/.exec(text);
  if (compare !== null) {
    const [, rawKey, op, rawValue] = compare as unknown as [string, string, string, string];
    const key = word(rawKey, 'key');
    const value = word(rawValue, 'value');
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  const key = word(text, 'key');
  return (labels) => labels[key] !== undefined;
}

/** Parses a selector; throws LabelSelectorError (→ `invalid_input`) on bad syntax. */
export function parseLabelSelector(selector: string): Test {
  const tests = splitTopLevel(selector).map(term);
  return (labels) => tests.every((test) => test(labels));
}
