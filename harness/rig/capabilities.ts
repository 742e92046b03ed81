// Capability names shared by rig files, drivers and the suites' catalog.
export { CAPABILITIES, type RigFile } from './schema.ts';
import type { CAPABILITIES } from './schema.ts';
export type Capability = (typeof CAPABILITIES)[number];
