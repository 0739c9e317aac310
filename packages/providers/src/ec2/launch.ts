import type { RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import type { InstanceSpec, MachineChoice } from '../provider.js';
import type { Ec2ProviderOptions } from './config.js';

/** "User data is limited to 16 KB, in raw form, before it is base64-encoded." */
export const MAX_USER_DATA_BYTES = 16 * 1024;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;
const MAX_TAGS = 50;

/** Why the spec cannot be launched as it is, or undefined. Checked before any call is made. */
export function launchProblem(spec: InstanceSpec): string | undefined {
  const bytes = Buffer.byteLength(spec.userData, 'utf8');
  if (bytes > MAX_USER_DATA_BYTES)
    return `user-data is ${bytes} bytes; EC2 takes at most ${MAX_USER_DATA_BYTES}`;
  const entries = Object.entries(spec.tags);
  if (entries.length + 1 > MAX_TAGS)
    return `${entries.length} tags; EC2 takes at most ${MAX_TAGS - 1} besides Name`;
  for (const [key, value] of entries) {
    if (key === '' || key.length > MAX_TAG_KEY || key.toLowerCase().startsWith('aws:')) {
      return `tag key "${key.slice(0, 40)}" is not a valid EC2 tag key`;
    }
    if (value.length > MAX_TAG_VALUE) return `tag ${key}: value longer than ${MAX_TAG_VALUE} characters`;
  }
  return undefined;
}

export function ec2Tags(spec: InstanceSpec): Tag[] {
  return [
    { Key: 'Name', Value: spec.name },
    ...Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
  ];
}

/**
 * One RunInstances request. The same spec, choice and token always give the same request, so a
 * retry is recognised as one by AWS (a changed parameter would be `IdempotentParameterMismatch`).
 */
export function runInstancesInput(params: {
  readonly config: Ec2ProviderOptions;
  readonly spec: InstanceSpec;
  readonly choice: MachineChoice;
  readonly clientToken: string;
  readonly rootDeviceName: string | undefined;
}): RunInstancesCommandInput {
  const { config, spec, choice, clientToken, rootDeviceName } = params;
  const tags = ec2Tags(spec);
  const template = config.launch_template;
  const profile = config.instance_profile;
  const volume = config.root_volume;
  return {
    MinCount: 1,
    MaxCount: 1,
    ClientToken: clientToken,
    InstanceType: choice.machine as RunInstancesCommandInput['InstanceType'],
    ...(config.image_id === undefined ? {} : { ImageId: config.image_id }),
    ...(template === undefined
      ? {}
      : {
          LaunchTemplate: {
            ...(template.id === undefined ? {} : { LaunchTemplateId: template.id }),
            ...(template.name === undefined ? {} : { LaunchTemplateName: template.name }),
            Version: template.version,
          },
        }),
    ...(choice.location === undefined ? {} : { SubnetId: choice.location }),
    ...(config.security_groups.length === 0 ? {} : { SecurityGroupIds: [...config.security_groups] }),
    ...(config.key_name === undefined ? {} : { KeyName: config.key_name }),
    ...(profile === undefined
      ? {}
      : { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } }),
    ...(volume === undefined || rootDeviceName === undefined
      ? {}
      : {
          BlockDeviceMappings: [
            {
              DeviceName: rootDeviceName,
              Ebs: { VolumeSize: volume.size_gb, VolumeType: volume.type, DeleteOnTermination: true },
            },
          ],
        }),
    UserData: Buffer.from(spec.userData, 'utf8').toString('base64'),
    // The runner powers the VM off after its job; with `terminate` that also ends the bill.
    InstanceInitiatedShutdownBehavior: 'terminate',
    // IMDSv2 only; a hop limit of 1 keeps job containers (behind the Docker bridge) away from it.
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: config.imds_hop_limit,
    },
    ...(choice.market === 'spot'
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: {
              SpotInstanceType: 'one-time',
              InstanceInterruptionBehavior: 'terminate',
              ...(config.spot.max_price === undefined ? {} : { MaxPrice: config.spot.max_price }),
            },
          },
        }
      : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}
