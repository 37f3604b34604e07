/** `npm run config:docs`: rewrites docs/configuration.md's table from the schema in shared/platform/config.ts. */
import fs from 'node:fs';
import path from 'node:path';
import { configTable } from '../shared/platform/config-table';

export const CONFIG_DOC = path.join(__dirname, '..', 'docs', 'configuration.md');
const marked = /<!-- config:table -->[\s\S]*?<!-- \/config:table -->/;

export const withTable = (text: string) => text.replace(marked, () => `<!-- config:table -->\n${configTable()}\n<!-- /config:table -->`);

if (require.main === module) {
  const text = fs.readFileSync(CONFIG_DOC, 'utf8');
  if (!marked.test(text)) throw new Error('docs/configuration.md has no <!-- config:table --> block');
  fs.writeFileSync(CONFIG_DOC, withTable(text));
}
