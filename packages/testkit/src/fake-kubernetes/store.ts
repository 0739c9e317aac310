import type { FakeKubeResource, KubeObject } from './types.js';

/** RFC 3339 in whole seconds, as the API server writes `metav1.Time`. */
export function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const key = (resource: FakeKubeResource, namespace: string, name: string) =>
  `${resource}/${namespace}/${name}`;

/**
 * The fake etcd: objects by resource, namespace and name, one resourceVersion counter for all of
 * them, and when each uid went away (for the garbage collector's delay).
 */
export function createStore(now: () => number) {
  const objects = new Map<string, KubeObject>();
  const goneAt = new Map<string, number>();
  let revision = 1;

  return {
    /** The current resourceVersion, as lists report it. */
    revision: () => String(revision),
    get(resource: FakeKubeResource, namespace: string, name: string): KubeObject | undefined {
      return objects.get(key(resource, namespace, name));
    },
    /** Writes an object, giving it the next resourceVersion. */
    put(resource: FakeKubeResource, object: KubeObject): KubeObject {
      revision++;
      object.metadata.resourceVersion = String(revision);
      objects.set(key(resource, object.metadata.namespace, object.metadata.name), object);
      return object;
    },
    remove(resource: FakeKubeResource, object: KubeObject): void {
      revision++;
      objects.delete(key(resource, object.metadata.namespace, object.metadata.name));
      goneAt.set(object.metadata.uid, now());
    },
    /** A namespace's objects of one resource, by name (etcd key order); every namespace when undefined. */
    list(resource: FakeKubeResource, namespace?: string): KubeObject[] {
      const prefix = namespace === undefined ? `${resource}/` : `${resource}/${namespace}/`;
      return [...objects.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, o]) => o);
    },
    /** When the object with this uid was removed; undefined while it exists or if it never did. */
    goneSince: (uid: string) => goneAt.get(uid),
  };
}

export type Store = ReturnType<typeof createStore>;
