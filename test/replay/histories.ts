import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import proto from '@temporalio/proto';
import * as workflows from '../../workflows';

/**
 * The recorded workflow histories under test/replay/histories (scripts/record-histories.ts writes them) and what the
 * replay tests and the recording script check about them. No jest globals here: the script uses it too.
 */
export const HISTORY_DIR = path.join(__dirname, 'histories');
const ROOT = path.resolve(__dirname, '..', '..');

/** A history as Temporal's JSON form has it: events with camelCase attributes, payload data in base64. */
export interface HistoryJson { events: Array<Record<string, unknown> & { eventType: string }> }

export interface RecordedHistory {
  file: string;
  /** `<workflowType>-<label>-<status>[-n]`. */
  name: string;
  /** The id the workflow ran under: its code may derive ids from it (children, operations). */
  workflowId: string;
  workflowType: string;
  /** The release (v0.3.0) or commit the history was recorded from. */
  label: string;
  history: HistoryJson;
}

/** `<workflowType>-<label>-<status>[-n].json`: the label may hold dashes and dots, the type and status do not. */
const FILE_NAME = /^(?<type>[A-Za-z0-9]+)-(?<label>.+)-(?<status>completed|failed|cancelled|terminated|continued-as-new|timed-out)(?:-\d+)?\.json$/;

export function parseHistoryFileName(file: string): { workflowType: string; label: string; status: string } | null {
  const m = FILE_NAME.exec(file);
  return m ? { workflowType: m.groups!.type, label: m.groups!.label, status: m.groups!.status } : null;
}

export function loadHistories(dir = HISTORY_DIR): RecordedHistory[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((file) => {
    const parsed = parseHistoryFileName(file);
    if (!parsed) throw new Error(`${file}: not named <workflowType>-<label>-<status>[-n].json`);
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as HistoryJson;
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes as { workflowType?: { name?: string }; workflowId?: string } | undefined;
    if (started?.workflowType?.name !== parsed.workflowType) throw new Error(`${file}: its first event starts ${started?.workflowType?.name ?? 'nothing'}, not ${parsed.workflowType}`);
    const name = file.replace(/\.json$/, '');
    return { file, name, workflowId: started.workflowId ?? name, workflowType: parsed.workflowType, label: parsed.label, history };
  });
}

type History = proto.temporal.api.history.v1.History;

/**
 * A recorded history as the replayer takes it. @temporalio/common's historyFromJSON (what runReplayHistories calls for
 * JSON) checks the message type against its own copy of protobufjs, and npm gives @temporalio/proto another copy when
 * the root holds an older protobufjs ("type must be a Type"); the converter of @temporalio/proto's own copy works.
 */
export function historyFromJson(history: HistoryJson): History {
  const { fromJson } = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as { fromJson: (type: unknown, json: unknown, options: object) => History };
  const root = proto as unknown as { lookupType(name: string): unknown };
  return fromJson(root.lookupType('temporal.api.history.v1.History'), history, { ignoreUnknownFields: true });
}

/** Every workflow type the workers register: the functions workflows/index.ts exports. */
export function registeredWorkflowTypes(): string[] {
  return Object.entries(workflows).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
}

/** The patch ids the workflow code asks for: `patched('…')` and `deprecatePatch('…')` in workflows/. */
export function patchIdsInCode(): Map<string, string> {
  const ids = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/\b(?:patched|deprecatePatch)\(\s*'([^']+)'/g)) ids.set(m[1], path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, 'workflows'));
  return ids;
}

/** Every string in a history, with each payload's data decoded: what a reader of the history could see. */
export function historyStrings(value: unknown): Array<{ key: string; text: string }> {
  const out: Array<{ key: string; text: string }> = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      out.push({ key, text: v });
      if (key === 'data') {
        const decoded = Buffer.from(v, 'base64').toString('utf8');
        out.push({ key, text: decoded });
        try {
          walk(JSON.parse(decoded), key);
        } catch {
          // not JSON: its text is already listed
        }
      }
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(value, '');
  return out;
}

/** The patch ids a history recorded (the SDK's `core_patch` markers). */
export function patchMarkers(history: HistoryJson): string[] {
  const ids = new Set<string>();
  for (const e of history.events) {
    const marker = e.markerRecordedEventAttributes as { markerName?: string; details?: unknown } | undefined;
    if (marker?.markerName !== 'core_patch') continue;
    for (const { text } of historyStrings(marker.details)) {
      const m = /"(?:id|patch_id)"\s*:\s*"([^"]+)"/.exec(text);
      if (m) ids.add(m[1]);
    }
  }
  return [...ids];
}

// Names a secret goes by in the platform's inputs and results; their sealed ("v1:…") and hashed forms may travel.
const SECRET_KEY = /^(password|passwd|new_?password|private_?key|secret|client_?secret|token|access_?token|refresh_?token|api_?key|join_?token|preshared_?key)$/i;
const SEALED_OR_EMPTY = /^(|v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*|\*+|\[redacted\]|null)$/i;
const SECRET_TEXT: Array<[string, RegExp]> = [
  ['a PEM private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['an OpenSSH private key', /openssh-key-v1/],
  ['a JWT', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./],
  ['the suite\'s admin password', /admin-password-1/],
];

/** What in a history looks like a secret in clear text: a secret-named field with a plain value, a key, a token. */
export function findSecrets(history: unknown): string[] {
  const found = new Set<string>();
  for (const { key, text } of historyStrings(history)) {
    if (SECRET_KEY.test(key) && !SEALED_OR_EMPTY.test(text)) found.add(`field "${key}" in clear text`);
    for (const [what, re] of SECRET_TEXT) if (re.test(text)) found.add(what);
  }
  return [...found];
}
