/**
 * Quotes one word for POSIX sh. Single quotes make every byte literal; an embedded `'` is
 * closed, escaped and reopened. The schema already rejects shell metacharacters, so this is
 * the second line of defence, not the only one.
 */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
