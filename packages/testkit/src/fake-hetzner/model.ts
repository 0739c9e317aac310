import type { ActionFault, FakeAction, FakeHetznerOptions, FakeImage, FakeServer } from './types.js';

export const DEFAULT_SERVER_TYPES = ['cpx22', 'cx23', 'cax11', 'ccx13'];
export const DEFAULT_LOCATIONS = ['fsn1', 'nbg1', 'hel1', 'ash'];
const ARCH: Readonly<Record<string, string>> = { cax11: 'arm' };

/** The fake project's resources, and how they look in API answers (shapes of hcloud-openapi.json). */
export function createModel(options: FakeHetznerOptions) {
  const now = options.now ?? Date.now;
  const actionMs = options.actionMs ?? 10_000;
  const serverTypes = [...(options.serverTypes ?? DEFAULT_SERVER_TYPES)];
  const locations = [...(options.locations ?? DEFAULT_LOCATIONS)];
  const servers = new Map<number, FakeServer>();
  const actions = new Map<number, FakeAction>();
  const images = new Map<number, FakeImage>();
  let nextServer = 42;
  let nextAction = 1;
  let nextImage = 100;

  function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  function addImage(image: Partial<Omit<FakeImage, 'id'>> & { name?: string | null }): number {
    const id = nextImage++;
    images.set(id, {
      id,
      name: image.name ?? null,
      type: image.type ?? 'snapshot',
      status: image.status ?? 'available',
      labels: { ...(image.labels ?? {}) },
      createdAt: image.createdAt ?? now(),
      description: image.description ?? image.name ?? `snapshot ${id}`,
    });
    return id;
  }
  addImage({
    name: 'ubuntu-24.04',
    type: 'system',
    description: 'Ubuntu 24.04',
    createdAt: Date.UTC(2024, 3, 25),
  });
  addImage({ name: 'debian-12', type: 'system', description: 'Debian 12', createdAt: Date.UTC(2023, 5, 10) });

  function addAction(
    command: string,
    resources: FakeAction['resources'],
    delayMs = 0,
    fault?: ActionFault,
  ): FakeAction {
    const action = { id: nextAction++, command, resources, startedAt: now() + delayMs, fault };
    actions.set(action.id, action);
    return action;
  }

  /** Actions take `actionMs` of virtual time; a faulty one then fails, or never ends. */
  function actionStatus(action: FakeAction): 'running' | 'success' | 'error' {
    if (action.fault?.outcome === 'hang' || now() < action.startedAt + actionMs) return 'running';
    return action.fault?.outcome === 'error' ? 'error' : 'success';
  }

  function actionJson(action: FakeAction) {
    const status = actionStatus(action);
    const fault = action.fault;
    return {
      id: action.id,
      command: action.command,
      status,
      progress: status === 'running' ? 0 : 100,
      started: iso(action.startedAt),
      finished: status === 'running' ? null : iso(action.startedAt + actionMs),
      resources: action.resources,
      error:
        status === 'error' && fault?.outcome === 'error'
          ? { code: fault.code, message: fault.message }
          : null,
    };
  }

  /** The actions about one server, oldest first. */
  function actionsOf(serverId: number): FakeAction[] {
    return [...actions.values()].filter((a) =>
      a.resources.some((r) => r.type === 'server' && r.id === serverId),
    );
  }

  /**
   * A server boots once its create action is done, and again once its rebuild action is done (a
   * failed rebuild leaves it off), unless a test pinned its status.
   */
  function statusOf(server: FakeServer): string {
    if (server.pinned) return server.status;
    if (server.status === 'initializing' && now() >= server.createdAt + actionMs) server.status = 'running';
    const rebuild = server.rebuildAction;
    if (server.status === 'rebuilding' && rebuild !== undefined) {
      const status = actionStatus(rebuild);
      if (status !== 'running') server.status = status === 'success' ? 'running' : 'off';
    }
    return server.status;
  }

  function locationJson(name: string) {
    const id = locations.indexOf(name) + 1;
    return {
      id,
      name,
      description: `${name} DC Park`,
      country: 'DE',
      city: name,
      latitude: 0,
      longitude: 0,
      network_zone: 'eu-central',
    };
  }

  /** One data center per location; every server type is offered in each (deprecated field, still required). */
  function datacenterJson(location: string) {
    const typeIds = serverTypes.map((_, i) => i + 1);
    return {
      id: locations.indexOf(location) + 1,
      name: `${location}-dc1`,
      description: `${location} DC 1`,
      location: locationJson(location),
      server_types: { supported: typeIds, available: typeIds, available_for_migration: typeIds },
    };
  }

  function serverTypeJson(name: string) {
    return {
      id: serverTypes.indexOf(name) + 1,
      name,
      description: name.toUpperCase(),
      cores: 2,
      memory: 4,
      disk: 80,
      architecture: ARCH[name] ?? 'x86',
      cpu_type: name.startsWith('ccx') ? 'dedicated' : 'shared',
      storage_type: 'local',
      deprecated: false,
      locations: locations.map((l, i) => ({ id: i + 1, name: l, deprecation: null })),
      prices: [],
    };
  }

  function imageJson(image: FakeImage) {
    return {
      id: image.id,
      name: image.name,
      type: image.type,
      status: image.status,
      description: image.description,
      labels: image.labels,
      created: iso(image.createdAt),
      created_from: null,
      bound_to: null,
      deleted: null,
      deprecated: null,
      disk_size: 10,
      image_size: image.type === 'system' ? null : 2.3,
      os_flavor: 'ubuntu',
      os_version: '24.04',
      architecture: 'x86',
      rapid_deploy: image.type === 'system',
      protection: { delete: false },
    };
  }

  function serverJson(server: FakeServer) {
    const publicNet = (server.request.public_net ?? {}) as { enable_ipv4?: boolean; enable_ipv6?: boolean };
    const image = [...images.values()].find((i) => String(i.id) === server.image || i.name === server.image);
    return {
      id: server.id,
      name: server.name,
      status: statusOf(server),
      created: iso(server.createdAt),
      labels: server.labels,
      server_type: serverTypeJson(server.serverType),
      location: locationJson(server.location),
      datacenter: datacenterJson(server.location),
      image: image === undefined ? null : imageJson(image),
      public_net: {
        ipv4:
          publicNet.enable_ipv4 === false
            ? null
            : {
                id: server.id,
                ip: `198.51.100.${server.id % 250}`,
                blocked: false,
                dns_ptr: 'static.example',
              },
        ipv6:
          publicNet.enable_ipv6 === false
            ? null
            : { id: server.id, ip: '2001:db8::/64', blocked: false, dns_ptr: [] },
        floating_ips: [],
        firewalls: ((server.request.firewalls ?? []) as { firewall: number }[]).map((f) => ({
          id: f.firewall,
          status: 'applied',
        })),
      },
      private_net: ((server.request.networks ?? []) as number[]).map((network, i) => ({
        network,
        ip: `10.0.0.${i + 2}`,
        alias_ips: [],
        mac_address: '86:00:00:00:00:01',
      })),
      backup_window: null,
      included_traffic: 21_990_232_555_520,
      ingoing_traffic: 0,
      outgoing_traffic: 0,
      iso: null,
      locked: false,
      placement_group: null,
      primary_disk_size: 80,
      protection: { delete: false, rebuild: false },
      rescue_enabled: false,
      load_balancers: [],
      volumes: [],
    };
  }

  return {
    now,
    serverTypes,
    locations,
    servers,
    actions,
    images,
    addImage,
    addAction,
    actionStatus,
    actionsOf,
    actionJson,
    statusOf,
    serverJson,
    imageJson,
    newServerId: () => nextServer++,
  };
}

export type Model = ReturnType<typeof createModel>;
