import { z } from 'zod';
import { parseLabel, RunnerLabels } from './labels.js';

// Everything below ends up in a shell script or on a command line. The character sets are
// deliberately narrow (no quotes, `$`, backticks, `;`, `|`, `&`, whitespace or newlines in
// anything a script runs), and the renderer still quotes every value for sh.

/** One safe word: ids, names, handles. */
function word(max: number) {
  return z
    .string()
    .min(1, { message: 'must not be empty', abort: true })
    .max(max)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'may contain only letters, digits and . _ : -');
}

/** http(s) URL checked both by WHATWG URL and a character set that excludes shell syntax. */
function httpUrl(chars: RegExp, what: string) {
  // abort: one clear message per field, and `new URL` only ever sees a parseable value.
  return z
    .string()
    .max(2048, { abort: true })
    .regex(chars, { message: `must be a plain http(s) URL (${what})`, abort: true })
    .refine((value) => URL.canParse(value), { message: 'must be an absolute URL', abort: true })
    .refine((value) => /^https?:$/.test(new URL(value).protocol), 'must use http or https');
}

/** Forgejo base URL: no query, fragment or user info (credentials must never reach a VM). */
export const InstanceUrl = httpUrl(
  /^https?:\/\/[A-Za-z0-9._~:/%[\]-]+$/,
  'no query, fragment, user info or quotes',
);

/** Download URL: a query is allowed (mirrors, signed URLs), user info and fragments are not. */
const DownloadUrl = httpUrl(/^https?:\/\/[A-Za-z0-9._~:/%[\]?=&+,-]+$/, 'no fragment, user info or quotes');

export const RunnerInstall = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('baked'),
    binaryPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._/+-]+$/, 'must be an absolute path of letters, digits and . _ / + -')
      .refine((path) => !path.split('/').includes('..'), 'must not contain ..'),
  }),
  z.object({
    mode: z.literal('download'),
    url: DownloadUrl,
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
      .transform((hex) => hex.toLowerCase()),
  }),
]);
export type RunnerInstall = z.input<typeof RunnerInstall>;

/**
 * The unprivileged user host-mode jobs run as: a POSIX name as useradd takes it on Debian and
 * Ubuntu (lowercase, at most 32 characters), and never root.
 */
export const HostUser = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    'must be a POSIX user name: a lowercase letter or _, then up to 31 lowercase letters, digits, _ or -',
  )
  .refine((name) => name !== 'root', 'must not be root: it exists to run jobs without root');

/** The object shape alone: WarmBootstrap picks from it (zod cannot pick from a refined object). */
export const RunnerBootstrapFields = z.object({
  instanceUrl: InstanceUrl,
  runner: z.object({
    // z.guid, not z.uuid: the runner only needs 8-4-4-4-12 hex (Go uuid.Parse), not an RFC version.
    uuid: z.guid('must be a UUID'),
    // Forgejo issues 40 hex digits; the set allows other token shapes but nothing YAML or a
    // file: URL reader would mangle, and the minimum keeps it from matching unrelated text.
    token: z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(512)
      .regex(/^[A-Za-z0-9._~+/=-]+$/, 'may contain only letters, digits and . _ ~ + / = -'),
    name: word(255),
  }),
  /** The job attempt to run. Absent: the runner takes any job its labels match (manual dispatch). */
  handle: word(128).optional(),
  labels: RunnerLabels,
  install: RunnerInstall,
  /** Hard cap on the runner: `one-job --wait` never exits by itself when the job is cancelled. */
  jobTimeoutSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600),
  /** Install docker.io (apt) when a docker label is used and the image has no Docker. */
  docker: z.object({ install: z.boolean() }).optional(),
  blockMetadataForContainers: z.boolean().default(true),
  /**
   * Run forgejo-runner, and so every host-mode job, as this user instead of root (created when
   * missing). Host labels only: a runner starting containers needs the docker group, which is
   * root-equivalent and would undo the point.
   */
  hostUser: HostUser.optional(),
  /** With hostUser: a root-owned firewall rule keeps that user from the metadata service. */
  blockMetadataForHostUser: z.boolean().default(true),
  dispatchId: word(128).optional(),
  fleetId: word(128).optional(),
});

/** hostUser only where every label is host mode (see the field); shared with WarmBootstrap. */
export function hostUserNeedsHostLabels(
  input: { hostUser?: string | undefined; labels: readonly string[] },
  ctx: z.RefinementCtx,
): void {
  if (input.hostUser === undefined) return;
  const other = input.labels.filter((label) => {
    const parsed = parseLabel(label);
    return !('error' in parsed) && parsed.scheme !== 'host';
  });
  if (other.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['hostUser'],
      message: `needs host labels only (not ${other.join(', ')}): starting containers would need the docker group, which is root-equivalent`,
    });
  }
}

export const RunnerBootstrap = RunnerBootstrapFields.superRefine(hostUserNeedsHostLabels);

/** What callers pass (the blockMetadataFor* switches may be omitted). */
export type RunnerBootstrap = z.input<typeof RunnerBootstrap>;
/** After validation and defaults. */
export type ValidRunnerBootstrap = z.output<typeof RunnerBootstrap>;
