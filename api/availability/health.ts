import crypto from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { AppError, notFound } from '../../shared/platform/errors';
import { agentOnline } from '../../shared/compute/catalogue';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import { computeBounds } from '../compute/bounds';
import { hostById, liveHosts, setHostAutoFailover, type HostListRow } from '../../db/queries/compute/hosts';
import { found } from '../../db/queries/platform/found';
import { hostHealthWorkflow, type HostHealthInput } from '../../workflows/availability/ha';

export const HEALTH_SCHEDULE_ID = 'availability-host-health';

/** Host health as the health Schedule counted it, the Schedule itself, and a round run at once. */
export class HealthService {
  constructor(private readonly deps: AppDeps) {}

  private get knex() { return this.deps.knex; }

  healthInput(): HostHealthInput {
    const a = this.deps.config.availability;
    return {
      thresholds: { unhealthyAfter: a.unhealthyAfter, healthyAfter: a.healthyAfter }, probeSeconds: a.probeSeconds, movesAtOnce: a.movesAtOnce,
      ...computeBounds(this.deps.config),
    };
  }

  present(h: HostListRow) {
    return {
      host_id: h.id, name: h.name, enabled: Boolean(h.enabled), status: h.enabled ? h.health : 'disabled', health: h.health,
      reasons: h.health_reasons ?? [], consecutive_failures: h.health_failures, consecutive_successes: h.health_successes,
      checked_at: iso(h.health_checked_at), changed_at: iso(h.health_changed_at), generation: h.generation, fenced_at: iso(h.fenced_at),
      auto_failover: Boolean(h.auto_failover), use_agent: Boolean(h.use_agent),
      agent: h.use_agent ? { online: agentOnline(h.agent_last_seen, this.deps.config.compute.agentOfflineSeconds), last_seen: iso(h.agent_last_seen) } : null,
      instances: Number(h.instance_count ?? 0),
    };
  }

  /** Every host's health; overall healthy when every enabled host is, unhealthy when none is. */
  async all() {
    const hosts = (await liveHosts(this.knex).orderBy('h.id')).map((h) => this.present(h));
    const enabled = hosts.filter((h) => h.enabled);
    const bad = enabled.filter((h) => h.health === 'unhealthy');
    const status = !enabled.length || !bad.length ? 'healthy' : bad.length === enabled.length ? 'unhealthy' : 'degraded';
    return { status, healthy: enabled.filter((h) => h.health === 'healthy').length, unhealthy: bad.length, unknown: enabled.filter((h) => h.health === 'unknown').length, hosts };
  }

  async host(id: number) {
    return this.present(await found(hostById(this.knex, id), 'host', id));
  }

  async setHostSettings(caller: Caller, id: number, b: { auto_failover?: boolean }) {
    const h = await this.host(id);
    if (b.auto_failover !== undefined) await setHostAutoFailover(this.knex, id, b.auto_failover);
    await audit(this.knex, caller, { module: 'availability', action: 'host_ha_settings', message: `Host ${h.name}: auto_failover ${b.auto_failover ?? h.auto_failover}`, resourceType: 'host', resourceId: id, details: b });
    return this.host(id);
  }

  /** One health round now, bounded: the same workflow the Schedule starts. */
  async checkNow() {
    const input = this.healthInput();
    try {
      return await this.deps.temporal.workflow.execute(hostHealthWorkflow, {
        workflowId: `availability-health-now-${crypto.randomBytes(6).toString('hex')}`, taskQueue: this.deps.config.taskQueue, args: [input],
        workflowExecutionTimeout: `${input.probeSeconds + 30}s`,
      });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `The health round did not finish: ${(err as Error).message}`);
    }
  }

  private action() {
    return { type: 'startWorkflow' as const, workflowType: hostHealthWorkflow, args: [this.healthInput()] as [HostHealthInput], taskQueue: this.deps.config.taskQueue, workflowId: `${HEALTH_SCHEDULE_ID}-run` };
  }

  /** Creates or replaces the health Schedule: every `intervalSeconds`, never two rounds at once. */
  async putSchedule(caller: Caller | null, b: { interval_seconds: number; enabled: boolean }) {
    const spec = { intervals: [{ every: b.interval_seconds * 1000 }] };
    const state = { paused: !b.enabled, note: `${b.enabled ? 'enabled' : 'paused'}${caller ? ` by ${caller.principal.username}` : ' at start'}` };
    const handle = this.deps.temporal.schedule.getHandle(HEALTH_SCHEDULE_ID);
    try {
      try {
        await handle.update((prev) => ({ ...prev, spec, action: this.action(), state: { ...prev.state, ...state } }));
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        await this.deps.temporal.schedule.create({ scheduleId: HEALTH_SCHEDULE_ID, spec, action: this.action(), policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' }, state });
      }
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine refused the schedule: ${(err as Error).message}`);
    }
    if (caller) await audit(this.knex, caller, { module: 'availability', action: 'health_schedule', message: `Health checks every ${b.interval_seconds}s${b.enabled ? '' : ' (paused)'}`, details: b });
    return this.schedule();
  }

  /** At the API's start: the health Schedule with the configured interval, unless one exists (an admin's settings stay). */
  async ensureSchedule(): Promise<void> {
    const every = this.deps.config.availability.healthIntervalSeconds;
    if (!every) return;
    try {
      await this.deps.temporal.schedule.create({
        scheduleId: HEALTH_SCHEDULE_ID, spec: { intervals: [{ every: every * 1000 }] }, action: this.action(),
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' }, state: { note: 'created at start' },
      });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) this.deps.logger.warn({ err: (err as Error).message }, 'the health Schedule could not be created; PUT /api/v1/availability/health/schedule creates it');
    }
  }

  async schedule() {
    try {
      const d = await this.deps.temporal.withDeadline(Date.now() + 3000, () => this.deps.temporal.schedule.getHandle(HEALTH_SCHEDULE_ID).describe());
      const every = d.spec.intervals?.[0]?.every;
      return {
        id: HEALTH_SCHEDULE_ID, interval_seconds: every ? Math.round(Number(every) / 1000) : null, enabled: !d.state.paused,
        last_run: iso(d.info.recentActions.at(-1)?.takenAt), next_run: d.state.paused ? null : iso(d.info.nextActionTimes[0]),
        thresholds: { unhealthy_after: this.deps.config.availability.unhealthyAfter, healthy_after: this.deps.config.availability.healthyAfter },
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound('schedule', HEALTH_SCHEDULE_ID);
      throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine did not answer: ${(err as Error).message}`);
    }
  }

  async deleteSchedule(caller: Caller) {
    try {
      await this.deps.temporal.schedule.getHandle(HEALTH_SCHEDULE_ID).delete();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound('schedule', HEALTH_SCHEDULE_ID);
      throw new AppError('SERVICE_UNAVAILABLE', `The workflow engine did not answer: ${(err as Error).message}`);
    }
    await audit(this.knex, caller, { module: 'availability', action: 'health_schedule_delete', message: 'Health schedule deleted' });
    return { id: HEALTH_SCHEDULE_ID, deleted: true };
  }
}
