import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  EC2Client,
  type EC2ClientConfig,
  type Filter,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { type Clock, isAbortError, systemClock, throwIfAborted } from '@forgejo-fleet/runtime';
import type { z } from 'zod';
import {
  type CallOptions,
  type Instance,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  ProviderError,
} from '../provider.js';
import { ec2Choices } from './choices.js';
import { clientToken } from './client-token.js';
import type { Ec2CredentialsConfig, Ec2ProviderOptions } from './config.js';
import { ec2Credentials } from './credentials.js';
import { classifyEc2Error, ec2Error, errorName, isAmbiguous, NOT_FOUND } from './errors.js';
import { LIVE_STATES, toInstance } from './instance.js';
import { launchProblem, runInstancesInput } from './launch.js';
import {
  DescribeImagesResult,
  DescribeInstancesPage,
  type Ec2Instance,
  RunInstancesResult,
  TerminateInstancesResult,
} from './schema.js';

export { ec2Choices } from './choices.js';
export { CLIENT_TOKEN_MAX, clientToken } from './client-token.js';
export type { Ec2CredentialsConfig, Ec2ProviderConfig, Ec2ProviderOptions } from './config.js';
export { classifyEc2Error } from './errors.js';

export const EC2_KIND = 'ec2';

export interface Ec2ProviderDeps {
  /** Builds the SDK client (tests pass one whose `send` is mocked, so nothing reaches AWS). */
  readonly createClient?: (config: EC2ClientConfig) => EC2Client;
  readonly clock?: Clock;
}

/** Retries of a RunInstances whose answer was lost, with the same ClientToken, before looking. */
const AMBIGUOUS_RETRIES = 2;
const RETRY_BASE_MS = 1_000;
/** DescribeInstances page size (5–1000); filtered and paginated calls use the large request bucket. */
const PAGE_SIZE = 1_000;
/** Instances per TerminateInstances call; the resource bucket holds 1,000 and refills 20/s. */
export const TERMINATE_BATCH = 200;
/**
 * EC2 connection and per-request timeouts. `throwOnRequestTimeout` makes the request timeout
 * fail the request: without it the installed @smithy/node-http-handler only logs a warning and a
 * server that never answers holds the call forever. A request may take at most a quarter of its
 * verb's deadline (call_timeouts, enforced for the whole call in deadlines.ts), so the retries of
 * a hung request and the lookup after a lost answer still fit inside that deadline.
 */
const CONNECTION_TIMEOUT_MS = 5_000;
const MAX_REQUEST_TIMEOUT_MS = 30_000;
const MIN_REQUEST_TIMEOUT_MS = 50;
/** Attempts the SDK makes of reads and terminates (throttling, 5xx); RunInstances gets one, see below. */
const SDK_ATTEMPTS = 3;

function requestTimeout(deadlineMs: number | undefined): number {
  if (deadlineMs === undefined) return MAX_REQUEST_TIMEOUT_MS;
  return Math.max(MIN_REQUEST_TIMEOUT_MS, Math.min(MAX_REQUEST_TIMEOUT_MS, Math.floor(deadlineMs / 4)));
}

function handler(deadlineMs: number | undefined): NonNullable<EC2ClientConfig['requestHandler']> {
  return {
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: requestTimeout(deadlineMs),
    throwOnRequestTimeout: true,
  };
}

/** The EC2Client settings for reads and terminates (credentials: the override of a scope, if any). */
export function ec2ClientConfig(
  config: Ec2ProviderOptions,
  credentials: Ec2CredentialsConfig | undefined,
): EC2ClientConfig {
  const resolved = ec2Credentials(credentials ?? config.credentials, config.region);
  const t = config.call_timeouts;
  return {
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(resolved === undefined ? {} : { credentials: resolved }),
    maxAttempts: SDK_ATTEMPTS,
    requestHandler: handler(t === undefined ? undefined : Math.min(t.get, t.list, t.delete)),
  };
}

/**
 * The client for RunInstances, from the read client's settings (same credentials): one SDK
 * attempt per send, so the provider's own loop (same ClientToken, AMBIGUOUS_RETRIES) is the only
 * retry budget and a lost answer is sent at most three times in all, not three SDK attempts per
 * provider attempt.
 */
export function ec2LaunchClientConfig(base: EC2ClientConfig, config: Ec2ProviderOptions): EC2ClientConfig {
  return { ...base, maxAttempts: 1, requestHandler: handler(config.call_timeouts?.create) };
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

function tagFilters(tags: Readonly<Record<string, string>>): Filter[] {
  return [
    ...Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] })),
    { Name: 'instance-state-name', Values: LIVE_STATES },
  ];
}

function hasTags(instance: Instance, tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(tags).every(([key, value]) => instance.tags[key] === value);
}

/**
 * AWS EC2: RunInstances per machine choice with a ClientToken per (dispatch, choice), so a retried
 * or restarted create never launches twice; instances and volumes carry every spec tag.
 */
export function createEc2Provider(
  name: string,
  config: Ec2ProviderOptions,
  credentials?: Ec2CredentialsConfig,
  deps: Ec2ProviderDeps = {},
): Provider & Required<Pick<Provider, 'deleteMany'>> {
  const makeClient = deps.createClient ?? ((c) => new EC2Client(c));
  const clientConfig = ec2ClientConfig(config, credentials);
  const client = makeClient(clientConfig);
  const launchClient = makeClient(ec2LaunchClientConfig(clientConfig, config));
  const clock = deps.clock ?? systemClock;
  const choices = ec2Choices(config);
  // Keys whose create ended without a clear answer: the next create for them (on any choice)
  // looks for the earlier instance by its tags first, so a fallback never launches a second one.
  const unresolved = new Set<string>();
  let rootDevice: Promise<string | undefined> | undefined;

  function fatal(message: string): ProviderError {
    return new ProviderError(name, 'fatal', message);
  }

  function parse<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ProviderError(name, 'transient', `${what}: unexpected answer from EC2`);
    return parsed.data;
  }

  function pickChoice(choice: MachineChoice | undefined): MachineChoice {
    if (choice === undefined) return choices[0] as MachineChoice;
    const known = choices.find((c) => c.key === choice.key);
    if (known === undefined) throw fatal(`create: unknown machine choice "${choice.key}"`);
    return known;
  }

  async function describe(input: DescribeInstancesCommandInput, signal: AbortSignal | undefined) {
    const instances: Ec2Instance[] = [];
    let token: string | undefined;
    do {
      const page = parse(
        'DescribeInstances',
        DescribeInstancesPage,
        await client.send(
          new DescribeInstancesCommand({ ...input, ...(token === undefined ? {} : { NextToken: token }) }),
          sendOptions(signal),
        ),
      );
      for (const reservation of page.Reservations) instances.push(...reservation.Instances);
      token = page.NextToken === '' ? undefined : page.NextToken;
    } while (token !== undefined);
    return instances;
  }

  async function list(
    tags: Readonly<Record<string, string>>,
    options: CallOptions = {},
  ): Promise<Instance[]> {
    throwIfAborted(options.signal);
    try {
      const raw = await describe({ Filters: tagFilters(tags), MaxResults: PAGE_SIZE }, options.signal);
      return raw.map((i) => toInstance(i)).filter((i) => hasTags(i, tags));
    } catch (error) {
      throw rethrow('DescribeInstances', error);
    }
  }

  function rethrow(what: string, error: unknown): unknown {
    if (isAbortError(error) || error instanceof ProviderError) return error;
    return ec2Error(name, what, error);
  }

  async function findByToken(token: string, signal: AbortSignal | undefined): Promise<Instance | undefined> {
    const raw = await describe(
      {
        Filters: [
          { Name: 'client-token', Values: [token] },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ],
        MaxResults: PAGE_SIZE,
      },
      signal,
    );
    return raw[0] === undefined ? undefined : toInstance(raw[0]);
  }

  async function findEarlier(spec: InstanceSpec, signal: AbortSignal | undefined) {
    const found = (await list(spec.tags, { ...(signal === undefined ? {} : { signal }) })).filter(
      (i) => i.name === spec.name,
    );
    return found[0];
  }

  function resolveRootDevice(signal: AbortSignal | undefined): Promise<string | undefined> {
    if (config.root_volume === undefined || config.image_id === undefined) return Promise.resolve(undefined);
    rootDevice ??= client
      .send(new DescribeImagesCommand({ ImageIds: [config.image_id] }), sendOptions(signal))
      .then((out) => parse('DescribeImages', DescribeImagesResult, out).Images[0]?.RootDeviceName)
      .catch((error: unknown) => {
        rootDevice = undefined;
        throw rethrow('DescribeImages', error);
      });
    return rootDevice;
  }

  async function runInstances(spec: InstanceSpec, choice: MachineChoice, signal: AbortSignal | undefined) {
    const token = clientToken(spec.idempotencyKey, choice.key);
    const rootDeviceName = await resolveRootDevice(signal);
    if (config.root_volume !== undefined && rootDeviceName === undefined) {
      throw fatal('create: root_volume needs image_id with a root device name');
    }
    const input = runInstancesInput({ config, spec, choice, clientToken: token, rootDeviceName });
    const what = `RunInstances ${choice.key}`;
    let lastError: unknown;
    for (let attempt = 0; attempt <= AMBIGUOUS_RETRIES; attempt++) {
      if (attempt > 0) await clock.sleep(RETRY_BASE_MS * 2 ** (attempt - 1), signal);
      try {
        const out = parse(
          what,
          RunInstancesResult,
          await launchClient.send(new RunInstancesCommand(input), sendOptions(signal)),
        );
        unresolved.delete(spec.idempotencyKey);
        return toInstance(out.Instances[0] as Ec2Instance, { Name: spec.name, ...spec.tags });
      } catch (error) {
        if (isAbortError(error)) {
          // The request may be on its way: the next create for this key looks first.
          unresolved.add(spec.idempotencyKey);
          throw error;
        }
        if (errorName(error) === 'IdempotentParameterMismatch') {
          // This dispatch launched on this choice before, with other parameters (a new runner
          // token after a restart): that instance is the answer.
          const found = await findByToken(token, signal).catch((e: unknown) => {
            throw rethrow('DescribeInstances', e);
          });
          if (found !== undefined) return found;
          throw ec2Error(name, what, error, 'fatal');
        }
        const errorClass = classifyEc2Error(error);
        if (!isAmbiguous(errorClass)) throw ec2Error(name, what, error, errorClass);
        unresolved.add(spec.idempotencyKey);
        lastError = error;
      }
    }
    let found: Instance | undefined;
    try {
      found = (await findByToken(token, signal)) ?? (await findEarlier(spec, signal));
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw ec2Error(name, `${what}: answer lost and the lookup failed too`, error, 'transient');
    }
    if (found !== undefined) {
      unresolved.delete(spec.idempotencyKey);
      return found;
    }
    throw ec2Error(
      name,
      `${what}: answer lost; no instance with its client token or tags yet`,
      lastError,
      'transient',
    );
  }

  async function terminate(ids: readonly string[], signal: AbortSignal | undefined) {
    const out = parse(
      'TerminateInstances',
      TerminateInstancesResult,
      await client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }), sendOptions(signal)),
    );
    const result: Record<string, 'deleted' | 'not-found'> = {};
    for (const id of ids) result[id] = 'deleted';
    for (const item of out.TerminatingInstances) {
      if (item.PreviousState?.Name === 'terminated') result[item.InstanceId] = 'not-found';
    }
    return result;
  }

  async function deleteOne(id: string, options: CallOptions = {}): Promise<'deleted' | 'not-found'> {
    throwIfAborted(options.signal);
    try {
      return (await terminate([id], options.signal))[id] ?? 'deleted';
    } catch (error) {
      if (NOT_FOUND.has(errorName(error))) return 'not-found';
      throw rethrow('TerminateInstances', error);
    }
  }

  return {
    name,
    kind: EC2_KIND,
    choices,

    async create(spec: InstanceSpec, options: CallOptions = {}): Promise<Instance> {
      const { signal } = options;
      throwIfAborted(signal);
      const choice = pickChoice(spec.choice);
      const problem = launchProblem(spec);
      if (problem !== undefined) throw fatal(`create: ${problem}`);
      if (unresolved.has(spec.idempotencyKey)) {
        const earlier = await findEarlier(spec, signal);
        if (earlier !== undefined) {
          unresolved.delete(spec.idempotencyKey);
          return earlier;
        }
      }
      return runInstances(spec, choice, signal);
    },

    delete: deleteOne,

    async deleteMany(ids: readonly string[], options: CallOptions = {}) {
      const result: Record<string, 'deleted' | 'not-found'> = {};
      for (let i = 0; i < ids.length; i += TERMINATE_BATCH) {
        throwIfAborted(options.signal);
        const batch = ids.slice(i, i + TERMINATE_BATCH);
        try {
          Object.assign(result, await terminate(batch, options.signal));
        } catch (error) {
          // One unknown id fails the whole call; the rest still have to go, one by one.
          if (!NOT_FOUND.has(errorName(error))) throw rethrow('TerminateInstances', error);
          for (const id of batch) result[id] = await deleteOne(id, options);
        }
      }
      return result;
    },

    async get(id: string, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      try {
        const raw = await describe({ InstanceIds: [id] }, options.signal);
        return raw[0] === undefined ? undefined : toInstance(raw[0]);
      } catch (error) {
        if (NOT_FOUND.has(errorName(error))) return undefined;
        throw rethrow('DescribeInstances', error);
      }
    },

    list,
  };
}
