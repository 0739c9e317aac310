import { isMap, LineCounter, parseDocument } from 'yaml';
import type { ConfigIssue } from './issues.js';

/** Reads and parses one YAML file; problems come back as issues, never as a thrown stack trace. */
export function readYaml(text: string): { ok: true; value: unknown } | { ok: false; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const at = lineCounter.linePos(error.pos[0]);
        return {
          path: [],
          message: `line ${at.line}, column ${at.col}: YAML error: ${firstLine(error.message)}`,
        };
      }),
    };
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    return { ok: false, issues: [{ path: [], message: 'expected a mapping of settings at the top level' }] };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) ?? {} };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
