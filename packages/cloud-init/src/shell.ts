/**
 * Quotes one word for POSIX sh. Single quotes make every byte literal; an embedded `'` is
 * closed, escaped and reopened. The schema already rejects shell metacharacters, so this is
 * the second line of defence, not the only one.
 */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Drops comment lines and blank lines, keeping the shebang. The scripts explain themselves at
 * length in the sources; shipped verbatim they would not leave the warm user-data room in EC2's
 * 16 KB. Only whole-line comments go, so this is safe for scripts without heredocs or
 * multi-line strings whose lines start with # (the scripts it is used on are run stripped in
 * the tests).
 */
export function stripShellComments(script: string): string {
  const [shebang = '', ...rest] = script.split('\n');
  const kept = rest.filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  return `${[shebang, ...kept].join('\n')}\n`;
}
