/** Cuts provider messages down so a huge (or encoded) cloud answer cannot flood logs. */
export function shorten(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
