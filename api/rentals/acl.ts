import { notFound } from '../../shared/platform/errors';
import { buildDerpMap, publicAddressesOf } from '../../shared/rentals/acl';
import { certPin } from '../../shared/rentals/relay-tls';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { iso } from '../platform/http/schemas';
import { activeRelaysOf } from '../../db/queries/rentals/rentals';
import { aclLogsOf, insertAclLog } from '../../db/queries/rentals/acl-logs';
import { liveUserById, liveUserByUsername } from '../../db/queries/users/users';

/** derpMap fragments for Tailscale policy files, built from a user's active rentals; every generation, update and download logged. */
export class AclService {
  constructor(private readonly deps: AppDeps) {}

  private async user(principal: Principal, by: { id?: number; username?: string }) {
    const u = by.id !== undefined ? await liveUserById(this.deps.knex, by.id) : await liveUserByUsername(this.deps.knex, by.username ?? '');
    if (!u || (!isAdmin(principal) && principal.userId !== u.id)) throw notFound('user', by.id ?? by.username!);
    return u;
  }

  async derpMapOf(userId: number) {
    const rows = await activeRelaysOf(this.deps.knex, userId, new Date());
    return buildDerpMap(rows.map((r) => {
      const { ipv4, ipv6 } = publicAddressesOf((r.public_addresses ?? []) as string[]);
      const tls = r.tls_cert && r.tls_hostname ? { hostname: r.tls_hostname, certName: certPin(r.tls_cert) } : null;
      return { rentalId: r.id, hostName: r.name, regionCode: String(r.options?.region_code ?? r.name), ipv4, ipv6, port: r.port, tls };
    }));
  }

  private async log(userId: number, actorId: number | null, action: string, acl: unknown) {
    await insertAclLog(this.deps.knex, { user_id: userId, actor_id: actorId, action, acl: JSON.stringify(acl) });
  }

  /** generate / update: the same fragment from the same source of truth, logged under the action asked for. */
  async generate(caller: Caller, userId: number, action: 'generate' | 'update', permissions: string[] = []) {
    const user = await this.user(caller.principal, { id: userId });
    const acl = await this.derpMapOf(user.id);
    await this.log(user.id, caller.principal.userId, action, { ...acl, permissions });
    return { user_id: user.id, acl, regions: Object.keys(acl.derpMap.Regions).length, acl_file: `/api/acl/download/${encodeURIComponent(user.username)}` };
  }

  async logs(principal: Principal, userId: number) {
    const user = await this.user(principal, { id: userId });
    const rows = await aclLogsOf(this.deps.knex, user.id, 200);
    return { user_id: user.id, logs: rows.map((r) => ({ id: r.id, action: r.action, actor_id: r.actor_id, timestamp: iso(r.at), regions: Object.keys(r.acl?.derpMap?.Regions ?? {}).length })) };
  }

  /** The file a user pastes into their tailnet policy (`derpMap` section), logged as a download. */
  async download(principal: Principal, by: { id?: number; username?: string }) {
    const user = await this.user(principal, by);
    const acl = await this.derpMapOf(user.id);
    await this.log(user.id, principal.userId, 'download', acl);
    return { filename: `derpmap-${user.username.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`, body: JSON.stringify(acl, null, 2) + '\n' };
  }
}
