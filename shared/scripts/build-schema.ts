/**
 * Writes the contract's JSON Schema documents to shared/dist/schema/ (run: npm run build:schema).
 * Files no longer generated are removed so consumers never read a stale schema.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderContractJsonSchemas } from '../src/json-schema.ts';

const SCHEMA_DIR = fileURLToPath(new URL('../dist/schema/', import.meta.url));

const files = renderContractJsonSchemas();
mkdirSync(SCHEMA_DIR, { recursive: true });
for (const stale of readdirSync(SCHEMA_DIR)) {
  if (!Object.hasOwn(files, stale)) rmSync(join(SCHEMA_DIR, stale));
}
for (const [name, text] of Object.entries(files)) {
  writeFileSync(join(SCHEMA_DIR, name), text);
  console.log(`${join('shared/dist/schema', name)}  ${text.length} bytes`);
}
