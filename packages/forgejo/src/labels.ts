/**
 * The `labels` query value for the jobs endpoint. Forgejo splits on ',' without trimming the
 * elements, so a label with a comma or surrounding whitespace would silently never match: reject it.
 * An empty list gives `''` (Forgejo then returns only jobs without `runs-on`).
 */
export function labelsQuery(labels: readonly string[]): string {
  for (const label of labels) {
    if (label === '') throw new TypeError('labels: empty label name');
    if (label.includes(',')) {
      throw new TypeError(`labels: ${JSON.stringify(label)} contains ",", which Forgejo uses as separator`);
    }
    if (label.trim() !== label) {
      throw new TypeError(
        `labels: ${JSON.stringify(label)} has surrounding whitespace; Forgejo does not trim label names`,
      );
    }
  }
  return labels.join(',');
}
