import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { NO_STORE, Reply, route } from '../platform/http/route';
import { type OperationService } from '../platform/operations/service';
import { computeServices } from './services';
import { instanceTokenOf } from './routes';
import type { HostService } from './hosts';
import type { InstanceService } from './instances';
import { dbId, platformName } from '../platform/http/schemas';
import { imageReference } from '../../shared/compute/image-reference';
import { createHostBody, hostFields, passwordBody, powerBody, updateHostBody, usageReport } from './schemas';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { notFound, validationError } from '../../shared/platform/errors';
import { POWER_ACTIONS, type Nic } from '../../shared/compute/catalogue';
import { ENGINES } from '../../shared/compute/catalogue';
import type { Caller } from '../platform/caller';

/** Seed 001's host fields (OpenIDCS names), translated to the native ones. */
const seedHostFields = {
  server_addr: hostFields.address,
  server_user: hostFields.username,
  server_pass: hostFields.password,
  server_key: hostFields.private_key,
  engine_type: z.string().min(1).max(32),
  system_path: hostFields.system_path,
  images_path: hostFields.images_path,
  launch_path: hostFields.launch_path,
  ports_start: hostFields.nat_port_start,
  ports_close: hostFields.nat_port_end,
  public_addr: hostFields.public_addresses,
  ipaddr_pool: hostFields.ip_pools,
  plans: hostFields.plans,
  limits_nums: hostFields.instance_limit,
  options: hostFields.options,
  use_agent: hostFields.use_agent,
};
const seedHostBody = z.object({ server_name: z.string().min(1).max(64), ...seedHostFields });
const seedHostUpdate = z.object({ ...seedHostFields, server_addr: seedHostFields.server_addr.optional(), engine_type: seedHostFields.engine_type.optional() });

function nativeHost(b: Partial<z.infer<typeof seedHostBody>>) {
  return {
    name: b.server_name, address: b.server_addr, username: b.server_user, password: b.server_pass, private_key: b.server_key, engine_type: b.engine_type,
    system_path: b.system_path, images_path: b.images_path, launch_path: b.launch_path, nat_port_start: b.ports_start, nat_port_end: b.ports_close,
    public_addresses: b.public_addr, ip_pools: b.ipaddr_pool, plans: b.plans, instance_limit: b.limits_nums, options: b.options, use_agent: b.use_agent,
  };
}

/** Parses with the native schema; errors name the seed's fields. */
function parseNative<T extends z.ZodType>(schema: T, value: Record<string, unknown>): z.output<T> {
  const seedName: Record<string, string> = { name: 'server_name', address: 'server_addr', engine_type: 'engine_type', nat_port_start: 'ports_start', nat_port_end: 'ports_close', instance_limit: 'limits_nums', ip_pools: 'ipaddr_pool', public_addresses: 'public_addr' };
  const result = schema.safeParse(Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)));
  if (result.success) return result.data;
  throw validationError(result.error.issues.map((i) => {
    const [head, ...rest] = i.path.map(String);
    return { field: [seedName[head] ?? head, ...rest].join('.') || 'body', message: i.message };
  }));
}

export function seedHost(h: ReturnType<HostService['presentHost']>) {
  const full = h as Record<string, unknown>;
  return {
    server_name: h.name, engine_type: h.engine_type, enabled: h.enabled, server_addr: full.address, server_user: full.username,
    has_server_pass: full.has_password, system_path: full.system_path, images_path: full.images_path, launch_path: full.launch_path,
    ports_start: full.nat_port_start, ports_close: full.nat_port_end, public_addr: h.public_addresses, ipaddr_pool: full.ip_pools, plans: h.plans,
    limits_nums: h.instance_limit, vm_count: h.instances, agent: h.agent, status: h.status, status_at: h.status_at, id: h.id,
  };
}

export function seedVm(i: ReturnType<InstanceService['presentInstance']>) {
  const nicAll: Record<string, unknown> = {};
  for (const n of i.nics as unknown as Nic[]) {
    nicAll[n.name ?? 'eth0'] = { net_mode: n.net_mode ?? null, mac_addr: n.mac ?? null, ip4_addr: n.ip4 ?? null, ip6_addr: n.ip6 ?? null, gateway: n.gateway ?? null, netmask: n.mask ?? null, dns: n.dns ?? [] };
  }
  return {
    vm_uuid: i.uuid, vm_name: i.name, os_name: i.os_name ?? i.image, image: i.image, cpu_num: i.cpu, ram_num: i.ram_mb, hdd_num: i.disk_gb, nic_all: nicAll,
    owners: i.owners, status: i.state, server_name: i.host.name, id: i.id, usage: i.usage, usage_at: i.usage_at, origin: i.origin,
  };
}

const nicSeed = z.object({
  net_mode: z.string().max(32).optional(), ip4_addr: z.string().max(64).optional(), ip6_addr: z.string().max(64).optional(), mac_addr: z.string().max(32).optional(),
  gateway: z.string().max(64).optional(), netmask: z.string().max(64).optional(), dns: z.array(z.string()).optional(),
});
const vmCreate = z.object({
  vm_uuid: platformName.optional(),
  vm_name: z.string().min(1).max(128),
  os_name: z.string().max(255).optional(),
  image: imageReference.optional(),
  command: z.array(z.string()).optional(),
  cpu_num: z.number().int().min(1).max(256).default(1),
  ram_num: z.number().int().min(16).max(4194304).default(512),
  hdd_num: z.number().int().min(0).max(65536).default(10),
  nic_all: z.record(z.string().max(32), nicSeed).optional(),
  os_pass: z.string().min(6).max(128).optional(),
});
const vmUpdate = z.object({
  vm_name: z.string().min(1).max(128).optional(), os_name: z.string().max(255).optional(), image: imageReference.optional(),
  cpu_num: z.number().int().min(1).max(256).optional(), ram_num: z.number().int().min(16).max(4194304).optional(), hdd_num: z.number().int().min(0).max(65536).optional(),
}).refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');

const hsParams = z.object({ hs_name: z.string().min(1).max(64) });
const vmParams = hsParams.extend({ vm_uuid: z.string().min(1).max(64) });

/** Seed 001 (OpenIDCS) host and VM routes over the compute service: translation only. */
export function openidcsComputeRoutes(deps: AppDeps) {
  const { operations, hosts, instances } = computeServices(deps);
  const tags = ['compat: seed 001 OpenIDCS'];
  const common = { tags, surface: 'seed001' as const };
  const vmOf = async (principal: Principal, hs: string, uuid: string) => {
    const host = await hosts.hostByName(hs);
    return instances.instanceByUuid(principal, uuid, host.id);
  };
  const vmView = async (principal: Principal, row: { id: number }) => seedVm(instances.presentInstance(await instances.instanceRow(principal, row.id)));
  const wait = (caller: Caller, started: Parameters<OperationService['respond']>[1], present: (r: Record<string, unknown>) => Record<string, unknown>, msg: string) =>
    operations.respond(caller, started, present, msg);

  return [
    route({
      ...common, method: 'get', path: '/api/system/engine', permission: 'view', summary: 'Engine types: enabled, platform, arch, is_remote, options, messages',
      handler: async () => Object.fromEntries(Object.values(ENGINES).map((e) => [e.type, { name: e.name, enabled: e.enabled, platform: e.platform, arch: e.arch, is_remote: e.is_remote, options: e.options, messages: e.reason ? [...e.messages, e.reason] : e.messages, aliases: e.aliases }])),
    }),
    route({
      ...common, method: 'get', path: '/api/server/detail', permission: 'view', summary: 'All hosts',
      handler: async ({ principal }) => (await hosts.listHosts(principal, { page: 1, size: 1000 })).hosts.map(seedHost),
    }),
    route({
      ...common, method: 'get', path: '/api/server/detail/:hs_name', permission: 'view', summary: 'One host', params: hsParams,
      handler: async ({ principal, params }) => seedHost(hosts.presentHost(await hosts.hostByName(params.hs_name), isAdmin(principal))),
    }),
    route({
      ...common, method: 'post', path: '/api/server/create', permission: 'admin', summary: 'Add a host (server_pass is sealed, never returned)', body: seedHostBody,
      handler: async ({ caller, body }) => seedHost(await hosts.createHost(caller, parseNative(createHostBody, nativeHost(body)))),
    }),
    route({
      ...common, method: 'put', path: '/api/server/update/:hs_name', permission: 'admin', summary: 'Change a host', params: hsParams, body: seedHostUpdate,
      handler: async ({ caller, params, body }) => {
        const host = await hosts.hostByName(params.hs_name);
        return seedHost(await hosts.updateHost(caller, host.id, parseNative(updateHostBody, { ...nativeHost(body), name: undefined })));
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/server/delete/:hs_name', permission: 'admin', summary: 'Delete a host without instances', params: hsParams,
      handler: async ({ caller, params }) => hosts.deleteHost(caller, (await hosts.hostByName(params.hs_name)).id),
    }),
    route({
      ...common, method: 'post', path: '/api/server/powers/:hs_name', permission: 'admin', summary: 'Enable or disable a host', params: hsParams,
      body: z.object({ action: z.enum(['enable', 'disable']) }),
      handler: async ({ caller, params, body }) => seedHost(await hosts.setHostEnabled(caller, (await hosts.hostByName(params.hs_name)).id, body.action === 'enable')),
    }),
    route({
      ...common, method: 'get', path: '/api/server/status/:hs_name', permission: 'view',
      summary: 'Host status. Seed 001: by host name (CPU, memory, disk); seed 000: by numeric server id ({server_id, status}: online when its agent heartbeats or its engine answers one bounded read, else offline, or disabled). A host name wins.',
      params: hsParams,
      handler: async ({ ctx, principal, params }) => {
        const byName = await hosts.findHostByName(params.hs_name);
        if (byName) {
          if (!isAdmin(principal)) throw notFound('host', params.hs_name);
          return hosts.hostStatus(byName.id);
        }
        const id = dbId.safeParse(params.hs_name);
        if (!/^\d+$/.test(params.hs_name) || !id.success) throw notFound('host', params.hs_name);
        ctx.state.surface = 'seed000';
        const host = await hosts.hostRow(id.data);
        return new Reply({ server_id: host.id, server_name: host.name, status: await hosts.reachability(host) }, { raw: true });
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/detail/:hs_name', permission: 'view', summary: 'VMs on a host (yours; an admin sees all)', params: hsParams,
      handler: async ({ principal, params }) => {
        const host = await hosts.hostByName(params.hs_name);
        return (await instances.listInstances(principal, { host_id: host.id, page: 1, size: 100 })).instances.map(seedVm);
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/detail/:hs_name/:vm_uuid', permission: 'view', summary: 'One VM', params: vmParams,
      handler: async ({ principal, params }) => vmView(principal, await vmOf(principal, params.hs_name, params.vm_uuid)),
    }),
    route({
      ...common, method: 'post', path: '/api/client/create/:hs_name', permission: 'create', startsOperation: true,
      summary: 'Create a VM on a host; waits for the operation (bounded) like the original answered', params: hsParams, body: vmCreate,
      handler: async ({ caller, params, body }) => {
        const host = await hosts.hostByName(params.hs_name);
        const nics = Object.entries(body.nic_all ?? {}).map(([name, n]) => ({ name, net_mode: n.net_mode, ip4: n.ip4_addr ?? null, ip6: n.ip6_addr ?? null, mac: n.mac_addr ?? null, gateway: n.gateway ?? null, mask: n.netmask ?? null, dns: n.dns }));
        for (const [i, n] of nics.entries()) {
          if (n.mac && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(n.mac)) throw validationError([{ field: `nic_all.${nics[i].name}.mac_addr`, message: 'must be a MAC address' }]);
          if (n.ip4 && !/^(\d{1,3}\.){3}\d{1,3}$/.test(n.ip4)) throw validationError([{ field: `nic_all.${nics[i].name}.ip4_addr`, message: 'must be an IPv4 address' }]);
        }
        const started = await instances.createInstance(caller, {
          uuid: body.vm_uuid, name: body.vm_name, os_name: body.os_name, image: body.image, command: body.command, cpu: body.cpu_num, ram_mb: body.ram_num, disk_gb: body.hdd_num,
          nics: nics.map((n) => ({ ...n, name: n.name })), password: body.os_pass,
        }, host.id, (i, key) => `nic_all.${nics[i].name}.${key}_addr`);
        return wait(caller, started, (r) => ({ vm_uuid: r.uuid, vm_name: r.name, status: r.state, server_name: r.host }), '虚拟机创建成功');
      },
    }),
    route({
      ...common, method: 'put', path: '/api/client/update/:hs_name/:vm_uuid', permission: 'update', startsOperation: true, summary: 'Change a VM (name, os, cpu, ram, disk)',
      params: vmParams, body: vmUpdate,
      handler: async ({ caller, principal, params, body }) => {
        const vm = await vmOf(principal, params.hs_name, params.vm_uuid);
        const started = await instances.updateInstance(caller, vm, { name: body.vm_name, os_name: body.os_name, image: body.image, cpu: body.cpu_num, ram_mb: body.ram_num, disk_gb: body.hdd_num });
        return wait(caller, started, (r) => ({ vm_uuid: r.uuid, vm_name: r.name, status: r.state }), '虚拟机修改成功');
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/client/delete/:hs_name/:vm_uuid', permission: 'delete', startsOperation: true, summary: 'Delete a VM', params: vmParams,
      handler: async ({ caller, principal, params }) => {
        const started = await instances.deleteInstance(caller, await vmOf(principal, params.hs_name, params.vm_uuid));
        return wait(caller, started, (r) => ({ vm_uuid: r.uuid, deleted: true, released_ips: r.released_ips }), '虚拟机删除成功');
      },
    }),
    route({
      ...common, method: 'post', path: '/api/client/powers/:hs_name/:vm_uuid', permission: 'update', startsOperation: true,
      summary: `Power: ${POWER_ACTIONS.join(', ')}`, params: vmParams, body: powerBody,
      handler: async ({ caller, principal, params, body }) => {
        const started = await instances.powerInstance(caller, await vmOf(principal, params.hs_name, params.vm_uuid), body.action);
        return wait(caller, started, (r) => ({ vm_uuid: r.uuid, action: r.action, status: r.state }), '电源操作成功');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/remote/:hs_name/:vm_uuid', permission: 'update', summary: 'Console URL (engines without one answer 400)', params: vmParams,
      handler: async ({ caller, principal, params }) => new Reply(await instances.console(caller, await vmOf(principal, params.hs_name, params.vm_uuid)), { headers: NO_STORE }),
    }),
    route({
      ...common, method: 'post', path: '/api/client/password/:hs_name/:vm_uuid', permission: 'update', startsOperation: true, summary: 'Set the OS password', params: vmParams, body: passwordBody,
      handler: async ({ caller, principal, params, body }) => {
        const started = await instances.setInstancePassword(caller, await vmOf(principal, params.hs_name, params.vm_uuid), body.password);
        return wait(caller, started, (r) => ({ vm_uuid: r.uuid, password_changed: true }), '密码修改成功');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/status/:hs_name/:vm_uuid', permission: 'view', summary: 'Live VM status', params: vmParams,
      handler: async ({ principal, params }) => instances.instanceStatus(await vmOf(principal, params.hs_name, params.vm_uuid)),
    }),
    route({
      ...common, method: 'post', path: '/api/client/scaner/:hs_name', permission: 'admin', startsOperation: true, summary: 'Scan a host and import its VMs', params: hsParams,
      handler: async ({ caller, params }) => {
        const started = await hosts.scanHost(caller, await hosts.hostByName(params.hs_name));
        return wait(caller, started, (r) => r, '扫描完成');
      },
    }),
    route({
      ...common, method: 'post', path: '/api/client/upload', auth: 'public',
      summary: 'Status report from a VM agent; needs the VM\'s own token (body "token" or X-Instance-Token). Never returns secrets.', body: usageReport,
      handler: ({ ctx, body }) => instances.recordUsage(instanceTokenOf(ctx), body),
    }),
  ];
}
