import readline from 'node:readline/promises';
import { SingleBar, Presets } from 'cli-progress';
import { followOperation, unwrap, type IdcflowClient, type Operation } from '../client';

/** Exit codes: an operation's end, a usage error, or a refused login. */
export const EXIT = { succeeded: 0, failed: 1, usage: 2, canceled: 3, unauthenticated: 4 } as const;

/**
 * Follows an operation to its end with a progress bar (on a terminal) and returns its exit code. Ctrl-C asks whether
 * to cancel the operation; answering no leaves it running and stops following.
 */
export async function follow(client: IdcflowClient, id: string, json: boolean): Promise<number> {
  const interactive = process.stderr.isTTY && !json;
  const bar = interactive ? new SingleBar({ format: '{bar} {percentage}% {step}', hideCursor: true }, Presets.shades_classic) : null;
  bar?.start(100, 0, { step: 'starting' });
  const stop = new AbortController();
  let detached = false;
  const onInterrupt = async () => {
    bar?.stop();
    process.removeListener('SIGINT', onInterrupt);
    if (!process.stdin.isTTY) {
      detached = true;
      stop.abort();
      return;
    }
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Cancel operation ${id}? [y/N] `);
    rl.close();
    if (/^y(es)?$/i.test(answer.trim())) {
      unwrap(await client.api.POST('/api/v1/operations/{id}/cancel', { params: { path: { id } } }));
      process.stderr.write('Cancel requested; following until it has undone its work.\n');
    } else {
      detached = true;
      stop.abort();
    }
  };
  process.on('SIGINT', onInterrupt);
  try {
    const op = await followOperation(client, id, (o: Operation) => {
      if (bar) bar.update(o.progress.percent, { step: o.progress.step ?? o.status });
      else if (!json) process.stderr.write(`${o.status} ${o.progress.percent}% ${o.progress.step ?? ''}\n`);
    }, stop.signal);
    bar?.update(op.progress.percent, { step: op.status });
    bar?.stop();
    if (json) process.stdout.write(`${JSON.stringify(op, null, 2)}\n`);
    else process.stderr.write(`Operation ${op.id} ${op.status}${op.error ? `: ${op.error.code} ${op.error.message}` : ''}\n`);
    return EXIT[op.status as 'succeeded' | 'failed' | 'canceled'] ?? EXIT.failed;
  } catch (err) {
    if (detached) {
      process.stderr.write(`Stopped following; operation ${id} runs on (idcflow operations follow ${id}).\n`);
      return 130;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}
