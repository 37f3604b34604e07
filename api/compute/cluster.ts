import type { z } from 'zod';
import { notFound } from '../../shared/platform/errors';
import { PLACEMENT_STRATEGIES, type PlacementStrategy } from '../../shared/compute/catalogue';
import { quotaFor, usageOf } from '../../db/queries/compute/rules';
import type { AppDeps } from '../platform/deps';
import { isAdmin, type Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import type { lbBody, quotaBody } from './schemas';

/** The cluster's shared settings: per-user quotas and the placement strategy. */
export class ClusterService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  async quota(principal: Principal, userId: number) {
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('user', userId);
    const user = await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('id', 'role');
    if (!user) throw notFound('user', userId);
    const quota = await quotaFor(this.knex, userId, this.deps.config.compute.defaultQuota);
    const custom = Boolean(await this.knex('user_quotas').where({ user_id: userId }).first('user_id'));
    return { user_id: userId, quota, used: await usageOf(this.knex, userId), source: custom ? 'user' : 'default', enforced: user.role !== 'admin' };
  }

  async setQuota(caller: Caller, userId: number, q: z.infer<typeof quotaBody>) {
    if (!(await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('id'))) throw notFound('user', userId);
    await this.knex('user_quotas').insert({ user_id: userId, ...q }).onConflict('user_id').merge({ ...q, updated_at: this.knex.fn.now() });
    await audit(this.knex, caller, { module: 'compute', action: 'quota_set', message: `Quota of user ${userId} set`, resourceType: 'user', resourceId: userId, details: q });
    return this.quota(caller.principal, userId);
  }

  async loadBalancer() {
    const row = await this.knex('cluster_settings').where({ key: 'load_balancer' }).first();
    const v = (row?.value ?? {}) as { strategy?: PlacementStrategy; node_weights?: Record<string, number> };
    return { strategy: v.strategy ?? 'round_robin', node_weights: v.node_weights ?? {}, available_strategies: [...PLACEMENT_STRATEGIES] };
  }

  async setLoadBalancer(caller: Caller, b: z.infer<typeof lbBody>) {
    const current = await this.loadBalancer();
    const value = { strategy: b.strategy ?? current.strategy, node_weights: b.node_weights ?? current.node_weights };
    await this.knex('cluster_settings').insert({ key: 'load_balancer', value: JSON.stringify(value) }).onConflict('key').merge({ value: JSON.stringify(value), updated_at: this.knex.fn.now() });
    await audit(this.knex, caller, { module: 'compute', action: 'load_balancer_set', message: `Load-balancer strategy ${value.strategy}`, details: value });
    return this.loadBalancer();
  }
}
