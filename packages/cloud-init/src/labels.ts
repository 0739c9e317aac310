import { z } from 'zod';

/** Execution schemes forgejo-runner knows (`internal/pkg/labels/labels.go`). */
export const LABEL_SCHEMES = ['docker', 'host', 'lxc'] as const;
export type LabelScheme = (typeof LABEL_SCHEMES)[number];

export type ParsedLabel = { name: string; scheme: LabelScheme; arg?: string };

// Conservative on purpose: every label lands on the runner's command line, and these sets
// cover real runs_on names and image references without any shell metacharacter.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ARG = /^\/\/[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/;

function isScheme(value: string): value is LabelScheme {
  return (LABEL_SCHEMES as readonly string[]).includes(value);
}

/**
 * Parses `name:scheme[:arg]` the way the runner does (split on the first two colons), or
 * returns why it is not acceptable. A bare `name` is refused although the runner accepts it:
 * it means docker with a default image, and the runner would then demand a Docker daemon.
 */
export function parseLabel(label: string): ParsedLabel | { error: string } {
  const first = label.indexOf(':');
  if (first < 0) {
    return {
      error: `label "${label}" has no scheme; a bare label means docker and the runner would require Docker: write "${label}:host" or "${label}:docker://IMAGE"`,
    };
  }
  const name = label.slice(0, first);
  const rest = label.slice(first + 1);
  const second = rest.indexOf(':');
  const scheme = second < 0 ? rest : rest.slice(0, second);
  const arg = second < 0 ? undefined : rest.slice(second + 1);
  if (!NAME.test(name)) {
    return { error: `label name "${name}" must match ${NAME.source}` };
  }
  if (!isScheme(scheme)) {
    return { error: `label "${name}" has scheme "${scheme}"; use one of ${LABEL_SCHEMES.join(', ')}` };
  }
  if (arg === undefined) return { name, scheme };
  if (scheme === 'host') {
    return { error: `label "${name}": the host scheme takes no argument, write "${name}:host"` };
  }
  if (!ARG.test(arg)) {
    return { error: `label "${name}": ${scheme} argument must look like //IMAGE (${ARG.source})` };
  }
  return { name, scheme, arg };
}

/** One runner label, `name:docker://image`, `name:host` or `name:lxc[://template]`. */
export const RunnerLabel = z.string().check((ctx) => {
  const parsed = parseLabel(ctx.value);
  if ('error' in parsed) ctx.issues.push({ code: 'custom', message: parsed.error, input: ctx.value });
});

/** All labels of one runner: at least one, names unique (the runner declares names only). */
export const RunnerLabels = z
  .array(RunnerLabel)
  .min(1, 'at least one label is needed, or the runner matches no job')
  .max(64)
  .check((ctx) => {
    const seen = new Set<string>();
    for (const label of ctx.value) {
      const parsed = parseLabel(label);
      if ('error' in parsed) continue;
      if (seen.has(parsed.name)) {
        ctx.issues.push({
          code: 'custom',
          message: `label name "${parsed.name}" appears twice`,
          input: label,
        });
      }
      seen.add(parsed.name);
    }
  });

/** Whether any label needs a Docker daemon on the VM. */
export function usesDocker(labels: readonly string[]): boolean {
  return labels.some((label) => {
    const parsed = parseLabel(label);
    return !('error' in parsed) && parsed.scheme === 'docker';
  });
}
