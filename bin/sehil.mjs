#!/usr/bin/env node
// Entry point for `npx sehil`: runs the TypeScript CLI through tsx so no build step is needed.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../harness/run/cli.ts');
process.exitCode = await main(process.argv.slice(2));
