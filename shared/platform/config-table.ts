import { z } from 'zod';
import { envSchema } from './config';

/** What each variable's `.meta()` says: its meaning, and how its default is shown when the schema's own is not the whole story. */
interface VariableDoc {
  meaning: string;
  shown?: string;
}

/** The schema's default, looked for through the wrappers (pipes of transforms, optionals) around it. */
function defaultOf(schema: z.ZodType): unknown {
  let def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  for (let depth = 0; depth < 6 && def; depth++) {
    if (def.type === 'default') return typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
    const inner = (def.in ?? def.innerType) as { _zod: { def: Record<string, unknown> } } | undefined;
    def = inner?._zod.def as Record<string, unknown>;
  }
  return undefined;
}

export const shownDefault = (schema: z.ZodType) => {
  const d = defaultOf(schema);
  return d === undefined || d === '' ? 'unset' : `\`${String(d)}\``;
};

/** docs/configuration.md's table, made from the schema: variables next to each other with the same meaning share a row. */
export function configTable(): string {
  const rows: Array<{ names: string[]; shown: string[]; meaning: string }> = [];
  for (const [name, schema] of Object.entries(envSchema.shape) as Array<[string, z.ZodType]>) {
    const doc = z.globalRegistry.get(schema) as VariableDoc | undefined;
    if (!doc?.meaning) throw new Error(`${name} has no meaning: give it .meta({ meaning }) in shared/platform/config.ts`);
    const shown = doc.shown ?? shownDefault(schema);
    const last = rows.at(-1);
    if (last && last.meaning === doc.meaning) {
      last.names.push(name);
      last.shown.push(shown);
    } else {
      rows.push({ names: [name], shown: [shown], meaning: doc.meaning });
    }
  }
  const line = (r: (typeof rows)[number]) => `| ${r.names.map((n) => `\`${n}\``).join(', ')} | ${r.shown.join(', ')} | ${r.meaning} |`;
  return ['| variable | default | meaning |', '|---|---|---|', ...rows.map(line)].join('\n');
}
