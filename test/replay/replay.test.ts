import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findSecrets, historyFromJson, loadHistories, patchIdsInCode, patchMarkers, registeredWorkflowTypes, type HistoryJson, type RecordedHistory } from './histories';
import { RELEASES } from './source-tree';

/**
 * Operations and rentals run for days, so a deploy meets workflows that older code started. Every history recorded
 * from a release or commit (scripts/record-histories.ts; test/replay/histories) is replayed against the workflow code of
 * this checkout, without a server: a change to a workflow that does not keep its old path behind patched() makes the
 * replay of the histories it changes fail here.
 */
const histories = loadHistories();
let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quiet });
}, 120_000);

/** Replays each history; the failures, one line per history that did not replay. */
async function replay(list: Array<{ name: string; history: HistoryJson }>): Promise<{ replayed: number; failures: string[] }> {
  const failures: string[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'idcflow-replay-test' }, list.map((h) => ({ workflowId: h.name, history: historyFromJson(h.history) })));
  for await (const result of results) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message.split('\n')[0]}`);
  }
  return { replayed, failures };
}

describe('recorded workflow histories replay against this code', () => {
  it('replays every recorded history without a nondeterminism error', async () => {
    expect(histories.length).toBeGreaterThan(0);
    const { replayed, failures } = await replay(histories);
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });

  it('fails a history whose commands the code no longer gives (two activity calls swapped)', async () => {
    // A recorded delete-user with its first two activities' types swapped stands for code that calls them the other way round.
    const source = histories.find((h) => h.workflowType === 'deleteUserWorkflow' && scheduledActivities(h.history).length >= 2)!;
    expect(source).toBeDefined();
    const swapped = structuredClone(source.history);
    const [a, b] = swapped.events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes as { activityType: { name: string } });
    expect(a.activityType.name).not.toBe(b.activityType.name);
    [a.activityType.name, b.activityType.name] = [b.activityType.name, a.activityType.name];
    const { failures } = await replay([{ name: `${source.name}-swapped`, history: swapped }]);
    expect(failures).toEqual([expect.stringMatching(/DeterminismViolationError.*(Activity type|does not match)/i)]);
  });

  it('has a history of every workflow type the workers register', () => {
    const recorded = new Set(histories.map((h) => h.workflowType));
    // A new workflow needs recorded histories (npm run histories:record) before it ships.
    expect(registeredWorkflowTypes().filter((t) => !recorded.has(t))).toEqual([]);
    expect([...recorded].filter((t) => !registeredWorkflowTypes().includes(t))).toEqual([]);
  });

  it('has histories of both branches of every patch: recorded before it (no marker) and after (its marker)', () => {
    const gaps: string[] = [];
    for (const [id, file] of patchIdsInCode()) {
      const marked = histories.filter((h) => patchMarkers(h.history).includes(id));
      const types = new Set(marked.map((h) => h.workflowType));
      const unmarked = histories.filter((h) => types.has(h.workflowType) && !patchMarkers(h.history).includes(id) && reachesPatchesOf(h));
      if (!marked.length) gaps.push(`${id} (${file}): no history took the patched branch`);
      else if (!unmarked.length) gaps.push(`${id} (${file}): no history of ${[...types].join(', ')} from before the patch`);
    }
    expect(gaps).toEqual([]);
  });

  it('holds no secret in clear text in any recorded history', () => {
    expect(histories.flatMap((h) => findSecrets(h.history).map((s) => `${h.file}: ${s}`))).toEqual([]);
  });

  it('names only releases of test/replay/releases.json, or commits, as where a history came from', () => {
    const releases = new Set(RELEASES.map((r) => `v${r.version}`));
    expect(histories.filter((h) => !releases.has(h.label) && !/^[0-9a-f]{7,40}$/.test(h.label)).map((h) => h.file)).toEqual([]);
  });
});

function scheduledActivities(history: HistoryJson): string[] {
  return history.events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
    return a?.activityType?.name ? [a.activityType.name] : [];
  });
}

/** A history that got past its first workflow task, where a runbook asks for its patches. */
function reachesPatchesOf(h: RecordedHistory): boolean {
  return h.history.events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED').length > 1;
}
