import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import proto from '@temporalio/proto';
import suiteTeardown from '../support/global-teardown';

/**
 * A jest globalTeardown for scripts/record-histories.ts: before the suite's own teardown stops Temporal, it writes the
 * histories of the workflows the run finished (every namespace) to IDCFLOW_RECORD_HISTORIES_DIR, as
 * `<workflowType>-<label>-<status>[-n].json`. Per workflow type and status it keeps up to PER_GROUP histories of
 * different shapes (their sequence of commands), the longest first, each under MAX_BYTES.
 *
 * Self-contained on purpose (Node, @temporalio and the suite's own teardown): the script copies it into an older
 * release's source tree, where it ends with that release's teardown.
 */
const PER_GROUP = 2;
const CANDIDATES = 12;
const MAX_BYTES = 256 * 1024;

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

/**
 * Temporal's JSON form of a history (as its CLI writes it). @temporalio/common's historyToJSON cannot be used: it
 * checks the message type against its own copy of protobufjs, and npm gives @temporalio/proto another copy when the
 * root holds an older protobufjs ("type must be a Type"). The converter of @temporalio/proto's own copy works.
 */
function historyToJson(history: History): unknown {
  const { toJson } = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as { toJson: (type: unknown, message: unknown) => unknown };
  const root = proto as unknown as { lookupType(name: string): unknown; temporal: typeof proto.temporal };
  return toJson(root.lookupType('temporal.api.history.v1.History'), root.temporal.api.history.v1.History.fromObject(history));
}

/** What a history asked for, in order: the part of it that replay compares with what the workflow code does. */
function shape(history: History): string {
  return (history.events ?? []).map((e) => {
    const a = e.activityTaskScheduledEventAttributes?.activityType?.name;
    const m = e.markerRecordedEventAttributes?.markerName;
    const c = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
    return [e.eventType, a ?? m ?? c ?? ''].join(':');
  }).filter((s) => !/WORKFLOW_TASK/.test(s) && !/^\d+:$/.test(s)).join(',');
}

async function record(outDir: string, label: string): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const { namespaces } = await connection.workflowService.listNamespaces({ pageSize: 100 });
    const names = (namespaces ?? []).map((n) => n.namespaceInfo?.name ?? '').filter((n) => n && n !== 'temporal-system');
    const groups = new Map<string, Array<{ ns: string; info: WorkflowExecutionInfo }>>();
    for (const ns of names) {
      const client = new Client({ connection, namespace: ns });
      for await (const info of client.workflow.list({ query: 'ExecutionStatus != "Running"' })) {
        if (info.historySize !== undefined && info.historySize > MAX_BYTES) continue;
        const key = `${info.type}-${label}-${info.status.name.toLowerCase().replace(/_/g, '-')}`;
        groups.set(key, [...(groups.get(key) ?? []), { ns, info }]);
      }
    }
    fs.mkdirSync(outDir, { recursive: true });
    let written = 0;
    for (const [key, runs] of groups) {
      runs.sort((a, b) => b.info.historyLength - a.info.historyLength);
      const kept = new Set<string>();
      for (const { ns, info } of runs.slice(0, CANDIDATES)) {
        if (kept.size >= PER_GROUP) break;
        const history = await new Client({ connection, namespace: ns }).workflow.getHandle(info.workflowId, info.runId).fetchHistory();
        const json = JSON.stringify(historyToJson(history), null, 1);
        const s = shape(history);
        if (kept.has(s) || json.length > MAX_BYTES) continue;
        kept.add(s);
        fs.writeFileSync(path.join(outDir, `${key}${kept.size > 1 ? `-${kept.size}` : ''}.json`), json + '\n');
        written++;
      }
    }
    process.stdout.write(`recorded ${written} histories of ${groups.size} workflow types and outcomes into ${outDir}\n`);
  } finally {
    await connection.close();
  }
}

export default async function recordingTeardown(): Promise<void> {
  const outDir = process.env.IDCFLOW_RECORD_HISTORIES_DIR;
  try {
    if (outDir) await record(outDir, process.env.IDCFLOW_RECORD_HISTORIES_LABEL ?? 'recorded');
  } finally {
    await suiteTeardown();
  }
}
