import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findSecrets, historyFromJson, loadHistories, patchIdsInCode, patchMarkers, registeredWorkflowTypes, type HistoryJson, type RecordedHistory } from './histories';
import { RELEASES } from './source-tree';

/**
 * Operations and rentals run for days, so a deploy meets workflows that older code started. Every history recorded
 * from a release or commit (scripts/record-histories.ts; test/replay/histories) is replayed against the workflow code of
 * this checkout, without a server: a change to a workflow that does not keep its old path behind patched() makes the
 * replay of the histories it changes fail here.
 */
const histories = loadHistories();

/**
 * Patches whose old branch no history that still replays can take, and why. Each is a candidate for deprecatePatch().
 * networking-release-on-delete: the deletes recorded before it (v0.1.0 until 0.2.0 merged networking) made their
 * database steps as remote activities, which 0.2.0 turned into local activities without a patch, so those histories
 * fail earlier (v0.1.0's compute histories were recorded and do not replay: see docs/upgrades.md).
 */
const OLD_BRANCH_UNREACHABLE: Record<string, string> = {
  'networking-release-on-delete': 'pre-patch deletes fail on the unpatched move of compute database steps to local activities (0.2.0)',
};
let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  // The replay worker's own state changes are logged at INFO; its warnings and errors still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
}, 120_000);

/** Replays each history; the failures, one line per history that did not replay, named by its file. */
async function replay(list: Array<Pick<RecordedHistory, 'name' | 'workflowId' | 'history'>>): Promise<{ replayed: number; failures: string[] }> {
  const failures: string[] = [];
  let replayed = 0;
  // The replayer takes the histories one after another and answers each in turn, so the nth result is the nth file's.
  const results = Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'idcflow-replay-test' }, list.map((h) => ({ workflowId: h.workflowId, history: historyFromJson(h.history) })));
  for await (const result of results) {
    const h = list[replayed++];
    if (result.error) failures.push(`${h.name}: ${result.error.name}: ${result.error.message.split('\n')[0]}`);
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
    const { failures } = await replay([{ ...source, name: `${source.name}-swapped`, history: swapped }]);
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
    const inCode = patchIdsInCode();
    for (const [id, file] of inCode) {
      const marked = histories.filter((h) => patchMarkers(h.history).includes(id));
      const types = new Set(marked.map((h) => h.workflowType));
      // A history without the marker took the old branch when its code had no patch yet: nothing of its type recorded
      // from the same release or commit has the marker (one that has merely failed before the patched call does not count).
      const patchedCode = new Set(marked.map((h) => `${h.workflowType}@${h.label}`));
      const unmarked = histories.filter((h) => types.has(h.workflowType) && !patchedCode.has(`${h.workflowType}@${h.label}`));
      if (!marked.length) gaps.push(`${id} (${file}): no history took the patched branch`);
      else if (!unmarked.length && !OLD_BRANCH_UNREACHABLE[id]) gaps.push(`${id} (${file}): no history of ${[...types].join(', ')} from before the patch`);
      else if (unmarked.length && OLD_BRANCH_UNREACHABLE[id]) gaps.push(`${id}: listed as unreachable, yet ${unmarked[0].file} takes its old branch`);
    }
    for (const id of Object.keys(OLD_BRANCH_UNREACHABLE)) if (!inCode.has(id)) gaps.push(`${id}: listed as unreachable but no longer in workflows/`);
    expect(gaps).toEqual([]);
  });

  it('holds no secret in clear text in any recorded history', () => {
    expect(histories.flatMap((h) => findSecrets(h.history).map((s) => `${h.file}: ${s}`))).toEqual([]);
    // The check sees into payloads: a clear password, a key and a token are found, their sealed form is not.
    const payload = (value: unknown) => ({ events: [{ eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', workflowExecutionStartedEventAttributes: { input: { payloads: [{ data: Buffer.from(JSON.stringify(value)).toString('base64') }] } } }] });
    expect(findSecrets(payload({ request: { password: 'hunter2' } }))).toEqual(['field "password" in clear text']);
    expect(findSecrets(payload({ key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=' }))).toEqual(['a PEM private key']);
    expect(findSecrets(payload({ access_token: 'abc.def' }))).toEqual(['field "access_token" in clear text']);
    expect(findSecrets(payload({ passwordSealed: 'v1:dtxhcW3u7bNF7AlG:Jh4+CkVOVBkEiAC7:W6oi', password: 'v1:AAAA:BBBB:CCCC' }))).toEqual([]);
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
