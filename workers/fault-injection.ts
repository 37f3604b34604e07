import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Test-only fault injection (IDCFLOW_FAULT_DELAY="activityName:ms"): delays the named activities,
 * heartbeating, so a crash test can kill the worker while one of them is in flight.
 */
export function faultDelayInterceptor(delays: Record<string, number>): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const ms = delays[ctx.info.activityType];
        if (ms && ctx.info.attempt === 1) {
          for (let waited = 0; waited < ms; waited += 500) {
            ctx.heartbeat('fault-delay');
            await ctx.sleep(Math.min(500, ms - waited));
          }
        }
        return next(input);
      },
    },
  });
}
