import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubernetesProvider } from '@forgejo-fleet/providers/schemas';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(`${root}docs/providers.md`, 'utf8');
const section = doc.slice(doc.indexOf('\n## Kubernetes\n'), doc.indexOf('\n## Shell\n'));

/** The ```yaml blocks of the Kubernetes section, in order. */
const yamlBlocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

describe('docs/providers.md, Kubernetes', () => {
  it('has its section', () => {
    expect(section.length).toBeGreaterThan(1000);
  });

  it('shows provider examples the kubernetes schema accepts, one per flavour', () => {
    const providers = (parse(yamlBlocks[0] ?? '') as { providers: Record<string, unknown> }).providers;
    const parsed = Object.values(providers).map((entry) => KubernetesProvider.safeParse(entry));

    expect(parsed.map((p) => p.error?.issues ?? [])).toEqual([[], []]);
    expect(parsed.map((p) => p.data?.flavor)).toEqual(['pod', 'kubevirt']);
  });

  it('grants the minimal Role: create, get, list, delete on pods, secrets and VMIs, in one namespace', () => {
    const objects = parseAllDocuments(yamlBlocks[1] ?? '').map((d) => d.toJS() as Record<string, unknown>);
    const role = objects.find((o) => o.kind === 'Role') as {
      metadata: { name: string; namespace: string };
      rules: Rule[];
    };
    const binding = objects.find((o) => o.kind === 'RoleBinding') as {
      metadata: { namespace: string };
      roleRef: { kind: string; name: string };
    };
    const namespace = objects.find((o) => o.kind === 'Namespace') as { metadata: { name: string } };

    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'Role', 'RoleBinding']);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'delete'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'get', 'list', 'delete'] },
      {
        apiGroups: ['kubevirt.io'],
        resources: ['virtualmachineinstances'],
        verbs: ['create', 'get', 'list', 'delete'],
      },
    ]);
    expect(JSON.stringify(role.rules)).not.toMatch(/"\*"|patch|update|watch|escalate|bind/);
    expect(role.metadata.namespace).toBe(namespace.metadata.name);
    expect(binding.metadata.namespace).toBe(namespace.metadata.name);
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
  });

  it('gives pod routes host labels only', () => {
    const route = (
      parse(yamlBlocks[2] ?? '') as { routes: { runner_labels: string[]; providers: string[] }[] }
    ).routes[0];

    expect(route?.providers).toEqual(['k8s-pods']);
    for (const label of route?.runner_labels ?? ['missing']) expect(label).toMatch(/^[^:]+:host$/);
  });
});
