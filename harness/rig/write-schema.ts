// Regenerates rigs/rig.schema.json from the zod schema: `npx tsx harness/rig/write-schema.ts`.
// The file is committed so editors validate rig files without running anything; a test keeps it current.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rigJsonSchema } from './schema.ts';

export const RIG_SCHEMA_PATH = fileURLToPath(new URL('../../rigs/rig.schema.json', import.meta.url));

export function renderRigJsonSchema(): string {
  return JSON.stringify(rigJsonSchema(), null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(RIG_SCHEMA_PATH, renderRigJsonSchema());
  console.log(`wrote ${RIG_SCHEMA_PATH}`);
}
