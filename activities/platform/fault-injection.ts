import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** The delays of this worker process (IDCFLOW_FAULT_DELAY), by activity name or named fault point. */
let configured: Record<string, number> = {};

/** Holds a first attempt for `ms`, heartbeating, so a crash test can kill the worker right there. */
async function hold(ctx: Context, ms: number): Promise<void> {
  if (!ms || ctx.info.attempt !== 1) return;
  for (let waited = 0; waited < ms; waited += 500) {
    ctx.heartbeat('fault-delay');
    await ctx.sleep(Math.min(500, ms - waited));
  }
}

/**
 * Test-only fault injection (IDCFLOW_FAULT_DELAY="activityName:ms"): delays the named activities,
 * heartbeating, so a crash test can kill the worker while one of them is in flight. "activityName.after:ms" holds once the
 * activity's work is done and before it reports, so the retry repeats work that already happened.
 */
export function faultDelayInterceptor(delays: Record<string, number>): ActivityInterceptorsFactory {
  configured = delays;
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        await hold(ctx, delays[ctx.info.activityType]);
        const result = await next(input);
        await hold(ctx, delays[`${ctx.info.activityType}.after`]);
        return result;
      },
    },
  });
}

/**
 * A named point inside an activity (IDCFLOW_FAULT_DELAY="engineUpdate.aside:ms"), where a crash test holds the first
 * attempt half-way through its work. Does nothing unless configured, or outside an activity.
 */
export async function faultPoint(name: string): Promise<void> {
  const ms = configured[name];
  if (!ms) return;
  let ctx: Context;
  try { ctx = Context.current(); } catch { return; }
  await hold(ctx, ms);
}
