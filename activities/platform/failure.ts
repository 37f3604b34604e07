import { ApplicationFailure, Context } from '@temporalio/activity';

/** A failure no retry can mend: its type is the error code the operation ends with. */
export const fail = (message: string, code: string, details?: Record<string, unknown>) => ApplicationFailure.nonRetryable(message, code, ...(details ? [details] : []));

/** Engine calls heartbeat while they wait, so a crashed worker's call is retried after the heartbeat timeout, not the full deadline. */
export async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  let ctx: Context | null = null;
  try { ctx = Context.current(); } catch { ctx = null; }
  const timer = ctx ? setInterval(() => ctx!.heartbeat(), 2000) : null;
  try {
    return await work();
  } finally {
    if (timer) clearInterval(timer);
  }
}

