#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the repository needs no build step before `npx dragflow`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
