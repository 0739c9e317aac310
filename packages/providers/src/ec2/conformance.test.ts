import { EC2Client } from '@aws-sdk/client-ec2';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { describeProviderConformance } from '../conformance/index.js';
import type { ProviderErrorClass } from '../provider.js';
import { awsError, fakeEc2 } from './__fixtures__/fake-ec2.js';
import { createEc2Provider } from './index.js';

const ERROR_BY_CLASS: Readonly<Record<ProviderErrorClass, [string, number]>> = {
  capacity: ['InsufficientInstanceCapacity', 500],
  quota: ['VcpuLimitExceeded', 400],
  'rate-limited': ['RequestLimitExceeded', 503],
  transient: ['InternalError', 500],
  fatal: ['InvalidAMIID.NotFound', 400],
};

// The real SDK client and commands; aws-sdk-client-mock answers `send` from a stateful fake.
describeProviderConformance(
  'ec2 (aws-sdk-client-mock)',
  async () => {
    const fake = fakeEc2({ pageSize: 3 });
    const provider = createEc2Provider(
      'aws-conformance',
      {
        region: 'eu-central-1',
        image_id: 'ami-0123456789abcdef0',
        launch_template: undefined,
        instance_types: ['c7a.large', 'm7a.large'],
        subnets: ['subnet-0a1b2c3d4e5f60718'],
        security_groups: [],
        key_name: undefined,
        instance_profile: undefined,
        root_volume: undefined,
        spot: { enabled: true, max_price: undefined, fallback_to_on_demand: true },
        imds_hop_limit: 1,
        hourly_prices: undefined,
      },
      undefined,
      { createClient: (config) => new EC2Client(config), clock: virtualClock() },
    );
    return {
      provider,
      cleanup: async () => fake.restore(),
      userDataOf: async (instance) => fake.userDataOf(instance.id),
      injectError(errorClass, choice) {
        const [name, status] = ERROR_BY_CLASS[errorClass];
        fake.failRun({
          error: awsError(name, status),
          match: (input) => input.InstanceType === choice.machine,
          // A transient error is retried with the same token before the provider gives up.
          times: errorClass === 'transient' ? 3 : 1,
        });
      },
    };
  },
  { unknownId: 'i-0000000000000dead' },
);
