import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeEc2Instance {
  readonly id: string;
  readonly clientToken: string;
  readonly input: RunInstancesCommandInput;
  state: string;
  readonly launchTime: Date;
}

export interface RunFault {
  /** Which RunInstances calls it applies to (default: all). */
  readonly match?: (input: RunInstancesCommandInput) => boolean;
  readonly error: Error;
  /** Launch the instance, then answer with the error: a lost answer. */
  readonly launch?: boolean;
  /** How many calls it applies to (default 1). */
  times?: number;
}

/** An AWS error as the SDK throws it (`name` = the AWS error code). */
export function awsError(name: string, status = 400, message = `${name} (fake)`): EC2ServiceException {
  return new EC2ServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'fake-request' },
  });
}

function stableInput(input: RunInstancesCommandInput): string {
  const { ClientToken: _token, SubnetId: _subnet, ...rest } = input;
  return JSON.stringify(rest);
}

function tagsOf(input: RunInstancesCommandInput) {
  return input.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags ?? [];
}

/**
 * A stateful EC2 behind aws-sdk-client-mock: the real SDK client and commands, with `send`
 * answered from memory. It honours ClientToken idempotency (IdempotentParameterMismatch when the
 * parameters change), tag, state and client-token filters, NextToken pagination and batch terminate.
 */
export function fakeEc2(options: { pageSize?: number } = {}) {
  const mock = mockClient(EC2Client);
  const instances = new Map<string, FakeEc2Instance>();
  const runFaults: RunFault[] = [];
  const runCalls: RunInstancesCommandInput[] = [];
  let hiddenDescribes = 0;
  let nextId = 1;

  function describeOut(instance: FakeEc2Instance) {
    return {
      InstanceId: instance.id,
      InstanceType: instance.input.InstanceType,
      State: { Name: instance.state },
      Tags: tagsOf(instance.input),
      LaunchTime: instance.launchTime,
      SubnetId: instance.input.SubnetId,
    };
  }

  function launch(input: RunInstancesCommandInput): FakeEc2Instance {
    const token = input.ClientToken ?? `auto-${nextId}`;
    const existing = [...instances.values()].find(
      (i) => i.clientToken === token && i.input.SubnetId === input.SubnetId,
    );
    if (existing !== undefined) {
      if (stableInput(existing.input) !== stableInput(input)) throw awsError('IdempotentParameterMismatch');
      return existing;
    }
    const id = `i-${(nextId++).toString(16).padStart(17, '0')}`;
    const instance = {
      id,
      clientToken: token,
      input,
      state: 'pending',
      launchTime: new Date(1_700_000_000_000),
    };
    instances.set(id, instance);
    return instance;
  }

  function reset() {
    mock.reset();
    instances.clear();
    runFaults.length = 0;
    runCalls.length = 0;
    hiddenDescribes = 0;

    mock.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      runCalls.push(input);
      const fault = runFaults.find((f) => (f.times ?? 1) > 0 && (f.match?.(input) ?? true));
      if (fault !== undefined) {
        fault.times = (fault.times ?? 1) - 1;
        if (fault.launch) launch(input);
        throw fault.error;
      }
      const instance = launch(input);
      // Like AWS: the answer carries the new instance, its tags may or may not be in it.
      return { Instances: [{ ...describeOut(instance), Tags: undefined }] };
    });

    mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
      if (hiddenDescribes > 0) {
        hiddenDescribes--;
        throw awsError('InternalError', 500);
      }
      let found = [...instances.values()];
      if (input.InstanceIds !== undefined) {
        for (const id of input.InstanceIds) {
          if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw awsError('InvalidInstanceID.Malformed');
          if (!instances.has(id)) throw awsError('InvalidInstanceID.NotFound');
        }
        found = found.filter((i) => input.InstanceIds?.includes(i.id));
      }
      for (const filter of input.Filters ?? []) {
        const values = filter.Values ?? [];
        const name = filter.Name ?? '';
        found = found.filter((i) => {
          if (name === 'instance-state-name') return values.includes(i.state);
          if (name === 'client-token') return values.includes(i.clientToken);
          if (name.startsWith('tag:')) {
            const tag = tagsOf(i.input).find((t) => t.Key === name.slice(4));
            return tag !== undefined && values.includes(tag.Value ?? '');
          }
          throw awsError('InvalidParameterValue');
        });
      }
      const size = Math.min(input.MaxResults ?? 1000, options.pageSize ?? 1000);
      const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
      const page = found.slice(start, start + size);
      const more = start + size < found.length;
      return {
        Reservations: page.map((i) => ({ Instances: [describeOut(i)] })),
        ...(more ? { NextToken: String(start + size) } : {}),
      };
    });

    mock.on(TerminateInstancesCommand).callsFake((input: TerminateInstancesCommandInput) => {
      const ids = input.InstanceIds ?? [];
      const missing = ids.filter((id) => !instances.has(id));
      if (missing.length > 0)
        throw awsError(
          'InvalidInstanceID.NotFound',
          400,
          `The instance IDs '${missing.join(', ')}' do not exist`,
        );
      return {
        TerminatingInstances: ids.map((id) => {
          const instance = instances.get(id) as FakeEc2Instance;
          const previous = instance.state;
          instance.state = 'terminated';
          return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: 'terminated' } };
        }),
      };
    });

    mock
      .on(DescribeImagesCommand)
      .resolves({ Images: [{ ImageId: 'ami-0123456789abcdef0', RootDeviceName: '/dev/xvda' }] });
  }

  reset();
  return {
    mock,
    instances,
    runCalls,
    reset,
    failRun(fault: RunFault) {
      runFaults.push(fault);
    },
    /** The next `n` DescribeInstances calls fail with a 500 (eventual consistency, outage). */
    failDescribes(n: number) {
      hiddenDescribes = n;
    },
    live() {
      return [...instances.values()].filter((i) => i.state !== 'terminated');
    },
    userDataOf(id: string): string | undefined {
      const data = instances.get(id)?.input.UserData;
      return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
    },
    restore() {
      mock.restore();
    },
  };
}

export type FakeEc2 = ReturnType<typeof fakeEc2>;
