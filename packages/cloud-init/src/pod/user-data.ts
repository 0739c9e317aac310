import { parse } from 'yaml';
import { z } from 'zod';
import { RunnerBootstrapFields } from '../bootstrap.js';
import { BOOTSTRAP_PATH, RUNNER_CONFIG_PATH, TOKEN_PATH } from '../paths.js';
import { shQuote } from '../shell.js';

// Reads back what renderUserData wrote (render.ts): the three write_files entries a runner
// needs. Messages never quote a file's content or the YAML parser's excerpt: the token is in it.

const WriteFile = z.object({ path: z.string(), content: z.string() });

/** The runner config renderUserData writes: only `runner.timeout`, in whole seconds. */
const RunnerConfig = z.object({
  runner: z.object({
    timeout: z
      .string()
      .regex(/^[1-9][0-9]*s$/, 'must be whole seconds like "3600s"')
      .transform((value) => Number.parseInt(value, 10)),
  }),
});

/** What a pod needs from the user-data, checked to be renderUserData's own shape. */
export interface RunnerUserData {
  readonly token: string;
  readonly script: string;
  readonly runnerConfig: string;
  readonly jobTimeoutSeconds: number;
}

/** The parsed document, or undefined: the parser's message would quote the text, token and all. */
function yaml(text: string): unknown {
  try {
    return parse(text, { version: '1.1' });
  } catch {
    return undefined;
  }
}

/** A line `NAME='value'` of the script's preamble (script.ts quotes every value with shQuote). */
function assigns(script: string, name: string, value: string | number): boolean {
  return script.split('\n').includes(`${name}=${shQuote(String(value))}`);
}

export const RunnerUserData = z
  .string()
  .refine((text) => text.startsWith('#cloud-config\n'), {
    message: 'must be #cloud-config user-data rendered by renderUserData',
    abort: true,
  })
  .transform((text) => yaml(text))
  .pipe(
    z.object(
      { write_files: z.array(WriteFile, 'must list the files renderUserData writes') },
      'must be a YAML mapping',
    ),
  )
  .transform((doc, ctx): RunnerUserData => {
    let missing = false;
    const content = (path: string, what: string): string => {
      const found = doc.write_files.find((file) => file.path === path)?.content;
      if (found === undefined) {
        missing = true;
        ctx.addIssue({ code: 'custom', path: ['write_files'], message: `has no ${path} (${what})` });
      }
      return found ?? '';
    };
    const token = content(TOKEN_PATH, 'the runner token');
    const script = content(BOOTSTRAP_PATH, 'the bootstrap script');
    const runnerConfig = content(RUNNER_CONFIG_PATH, 'the runner config');
    if (missing) return z.NEVER;

    const tokenCheck = RunnerBootstrapFields.shape.runner.shape.token.safeParse(token);
    if (!tokenCheck.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['write_files', TOKEN_PATH],
        message: `is not a runner token: ${tokenCheck.error.issues[0]?.message}`,
      });
    }
    const config = RunnerConfig.safeParse(yaml(runnerConfig));
    if (!config.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['write_files', RUNNER_CONFIG_PATH],
        message: 'must be the runner config renderUserData writes (runner.timeout in whole seconds)',
      });
      return z.NEVER;
    }
    const jobTimeoutSeconds = config.data.runner.timeout;
    const scriptIssue = (message: string) =>
      ctx.addIssue({ code: 'custom', path: ['write_files', BOOTSTRAP_PATH], message });
    if (!script.includes('run_runner()') || !script.includes(' one-job')) {
      scriptIssue('does not run forgejo-runner one-job');
    }
    // The pod mounts the files where the script looks for them, so the paths must be ours.
    if (!assigns(script, 'TOKEN_FILE', TOKEN_PATH)) scriptIssue(`does not read the token from ${TOKEN_PATH}`);
    if (!assigns(script, 'RUNNER_CONFIG', RUNNER_CONFIG_PATH)) {
      scriptIssue(`does not read the runner config from ${RUNNER_CONFIG_PATH}`);
    }
    if (!assigns(script, 'JOB_TIMEOUT', jobTimeoutSeconds)) {
      scriptIssue(`JOB_TIMEOUT is not the runner config's ${jobTimeoutSeconds}s`);
    }
    if (!assigns(script, 'HOST_USER', '')) {
      scriptIssue("has a host user (runner.host_user): a pod runs as its image's non-root user, not root");
    }
    return { token, script, runnerConfig, jobTimeoutSeconds };
  });
