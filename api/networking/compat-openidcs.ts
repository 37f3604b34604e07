import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import type { Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { notFound } from '../../shared/platform/errors';
import { networkingServices } from './services';
import { createAddressBody, createForwardBody, createProxyBody } from './schemas';
import { verifyProxyBody } from './domain-proof';

const hs = z.string().min(1).max(64);
const vmParams = z.object({ hs_name: hs, vm_uuid: z.string().min(1).max(64) });
const index = z.coerce.number().int().min(0).max(1_000_000);

const natBody = z.object({
  protocol: createForwardBody.shape.protocol,
  external_port: createForwardBody.shape.external_port,
  internal_port: createForwardBody.shape.internal_port,
  internal_ip: createForwardBody.shape.internal_address,
});
const ipBody = z.object({
  interface: createAddressBody.shape.interface,
  ip_address: createAddressBody.shape.address,
  netmask: createAddressBody.shape.netmask,
  gateway: createAddressBody.shape.gateway,
});
const proxyBody = z.object({ domain: createProxyBody.shape.domain, target_port: createProxyBody.shape.target_port, ssl_enabled: createProxyBody.shape.tls });

/**
 * Seed 001 (OpenIDCS) network routes over the networking services. `rule_index`, `ip_index` and `proxy_index` are
 * 0-based positions in the list the matching GET returns (ordered by creation). Changes wait for their operation (bounded).
 */
export function openidcsNetworkingRoutes(deps: AppDeps) {
  const { operations, hosts, changes, forwards, addresses, proxies } = networkingServices(deps);
  const common = { tags: ['compat: seed 001 OpenIDCS'], surface: 'seed001' as const };
  const vmOf = async (principal: Principal, hsName: string, uuid: string) => {
    const host = await hosts.hostByName(hsName);
    return changes.instances.instanceByUuid(principal, uuid, host.id);
  };
  const changeable = async (caller: Caller, hsName: string, uuid: string) => changes.instance(caller, (await vmOf(caller.principal, hsName, uuid)).id);
  const at = <T>(list: T[], index: number, what: string): T => {
    const item = list[index];
    if (!item) throw notFound(what, index);
    return item;
  };
  const seedForward = (f: Awaited<ReturnType<typeof forwards.list>>[number]) => ({
    rule_index: f.index, protocol: f.protocol, external_port: f.external_port, internal_port: f.internal_port, internal_ip: f.internal_address,
    external_ip: f.external_address, status: f.state, id: f.id,
  });
  const seedAddress = (a: Awaited<ReturnType<typeof addresses.list>>[number]) => ({
    ip_index: a.index, interface: a.interface, ip_address: a.address, netmask: a.netmask, gateway: a.gateway, internal_ip: a.internal_address, status: a.state, id: a.id,
  });
  // Beyond seed 001: whether the domain is proven (only proven domains are served) and how to prove it.
  const seedProxy = (p: Awaited<ReturnType<typeof proxies.list>>[number]) => ({
    proxy_index: p.index, domain: p.domain, target_port: p.target_port, ssl_enabled: p.tls, internal_ip: p.internal_address, status: p.state, id: p.id,
    verified: p.verification.status === 'verified', verification: p.verification,
  });
  const done = (r: Record<string, unknown>) => r;

  return [
    route({
      ...common, method: 'get', path: '/api/client/natget/:hs_name/:vm_uuid', permission: 'view', summary: 'A VM\'s NAT port forwards', params: vmParams,
      handler: async ({ principal, params }) => (await forwards.list(await vmOf(principal, params.hs_name, params.vm_uuid))).map(seedForward),
    }),
    route({
      ...common, method: 'post', path: '/api/client/natadd/:hs_name/:vm_uuid', permission: 'update', startsOperation: true,
      summary: 'Add a NAT port forward (external_port chosen from the host\'s range when omitted)', params: vmParams, body: natBody,
      handler: async ({ caller, params, body }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const started = await forwards.add(caller, inst, { protocol: body.protocol, external_port: body.external_port, internal_port: body.internal_port, internal_address: body.internal_ip });
        return operations.respond(caller, started, done, 'NAT规则添加成功');
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/client/natdel/:hs_name/:vm_uuid/:rule_index', permission: 'update', startsOperation: true,
      summary: 'Remove a NAT port forward by its position in natget\'s list', params: vmParams.extend({ rule_index: index }),
      handler: async ({ caller, params }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const rule = at(await forwards.list(inst), params.rule_index, 'NAT rule');
        return operations.respond(caller, await forwards.remove(caller, inst, rule.id), done, 'NAT规则删除成功');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/ipaddr/detail/:hs_name/:vm_uuid', permission: 'view', summary: 'A VM\'s bound public addresses', params: vmParams,
      handler: async ({ principal, params }) => (await addresses.list(await vmOf(principal, params.hs_name, params.vm_uuid))).map(seedAddress),
    }),
    route({
      ...common, method: 'post', path: '/api/client/ipaddr/create/:hs_name/:vm_uuid', permission: 'update', startsOperation: true,
      summary: 'Bind a public address to a VM (1:1 NAT; chosen from the host\'s public addresses when ip_address is omitted)', params: vmParams, body: ipBody,
      handler: async ({ caller, params, body }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const started = await addresses.add(caller, inst, { address: body.ip_address, interface: body.interface, netmask: body.netmask, gateway: body.gateway });
        return operations.respond(caller, started, done, 'IP地址添加成功');
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/client/ipaddr/delete/:hs_name/:vm_uuid/:ip_index', permission: 'update', startsOperation: true,
      summary: 'Unbind a public address by its position in the detail list', params: vmParams.extend({ ip_index: index }),
      handler: async ({ caller, params }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const item = at(await addresses.list(inst), params.ip_index, 'IP address');
        return operations.respond(caller, await addresses.remove(caller, inst, item.id), done, 'IP地址删除成功');
      },
    }),
    route({
      ...common, method: 'get', path: '/api/client/proxys/detail/:hs_name/:vm_uuid', permission: 'view', summary: 'A VM\'s reverse proxies', params: vmParams,
      handler: async ({ principal, params }) => (await proxies.list(await vmOf(principal, params.hs_name, params.vm_uuid))).map(seedProxy),
    }),
    route({
      ...common, method: 'post', path: '/api/client/proxys/create/:hs_name/:vm_uuid', permission: 'update', startsOperation: true,
      summary: 'Proxy a domain to a VM port (ssl_enabled: HTTPS with a certificate)', params: vmParams, body: proxyBody,
      handler: async ({ caller, params, body }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const started = await proxies.add(caller, inst, { domain: body.domain, target_port: body.target_port, tls: body.ssl_enabled });
        // The domain is served once proven: the answer carries the claim's token and both ways to prove it.
        const claim = (r: Record<string, unknown>) => ({ ...r, verified: started.verification?.status === 'verified', verification: started.verification });
        return operations.respond(caller, started, claim, started.verification?.status === 'verified' ? '代理配置添加成功' : '代理配置添加成功，域名验证后生效');
      },
    }),
    route({
      ...common, method: 'post', path: '/api/client/proxys/verify/:hs_name/:vm_uuid/:proxy_index', permission: 'update', startsOperation: true,
      summary: 'Check the proof of a reverse proxy\'s domain (beyond seed 001: a domain is served only once proven)', params: vmParams.extend({ proxy_index: index }), body: verifyProxyBody,
      handler: async ({ caller, params, body }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const item = at(await proxies.list(inst), params.proxy_index, 'proxy');
        return operations.respond(caller, await proxies.verify(caller, inst, item.id, body), done, '域名验证成功');
      },
    }),
    route({
      ...common, method: 'delete', path: '/api/client/proxys/delete/:hs_name/:vm_uuid/:proxy_index', permission: 'update', startsOperation: true,
      summary: 'Remove a reverse proxy by its position in the detail list', params: vmParams.extend({ proxy_index: index }),
      handler: async ({ caller, params }) => {
        const inst = await changeable(caller, params.hs_name, params.vm_uuid);
        const item = at(await proxies.list(inst), params.proxy_index, 'proxy');
        return operations.respond(caller, await proxies.remove(caller, inst, item.id), done, '代理配置删除成功');
      },
    }),
  ];
}
