import type { MachineChoice } from '../provider.js';
import type { KubernetesProviderOptions } from './config.js';

/**
 * One choice: a cluster namespace has no machine types to walk through. Its key names what a
 * runner gets (`pod`, `pod:gvisor`, `kubevirt:2c/4Gi`), so a changed template is a new choice.
 */
export function kubernetesChoices(
  config: Pick<KubernetesProviderOptions, 'flavor' | 'pod' | 'kubevirt' | 'hourly_price'>,
): MachineChoice[] {
  const machine =
    config.flavor === 'pod'
      ? config.pod?.runtime_class_name === undefined
        ? 'pod'
        : `pod:${config.pod.runtime_class_name}`
      : `kubevirt:${config.kubevirt?.cpu_cores ?? 0}c/${config.kubevirt?.memory ?? ''}`;
  return [
    {
      key: machine,
      machine,
      ...(config.hourly_price === undefined ? {} : { hourlyPrice: config.hourly_price }),
    },
  ];
}
