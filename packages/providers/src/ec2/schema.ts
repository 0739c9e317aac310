import { z } from 'zod';

/** The parts of the EC2 answers the provider reads; the SDK already parsed the XML. */
export const Ec2Tag = z.object({ Key: z.string(), Value: z.string().default('') });

export const Ec2Instance = z.object({
  InstanceId: z.string().min(1),
  InstanceType: z.string().optional(),
  State: z.object({ Name: z.string().optional() }).optional(),
  Tags: z.array(Ec2Tag).default([]),
  LaunchTime: z.date().optional(),
});
export type Ec2Instance = z.infer<typeof Ec2Instance>;

export const RunInstancesResult = z.object({ Instances: z.array(Ec2Instance).min(1) });

export const DescribeInstancesPage = z.object({
  Reservations: z.array(z.object({ Instances: z.array(Ec2Instance).default([]) })).default([]),
  NextToken: z.string().optional(),
});

export const TerminateInstancesResult = z.object({
  TerminatingInstances: z
    .array(
      z.object({
        InstanceId: z.string(),
        PreviousState: z.object({ Name: z.string().optional() }).optional(),
      }),
    )
    .default([]),
});

export const DescribeImagesResult = z.object({
  Images: z.array(z.object({ RootDeviceName: z.string().optional() })).default([]),
});
