// Registry of CLI commands; each lives in its own module under ./commands/.
import type { Command } from './cli.ts';
import { agent, agentKeygen } from './commands/agent.ts';
import { certInspect } from './commands/cert-inspect.ts';
import { decode } from './commands/decode.ts';
import { devices } from './commands/devices.ts';
import { emulate } from './commands/emulate.ts';
import { icDerive } from './commands/ic-derive.ts';
import { reportMerge } from './commands/report-merge.ts';
import { rigCheck } from './commands/rig-check.ts';
import { run } from './commands/run.ts';
import { selftest } from './commands/selftest.ts';

export const commands: Command[] = [
  agent,
  agentKeygen,
  certInspect,
  decode,
  devices,
  emulate,
  icDerive,
  reportMerge,
  rigCheck,
  run,
  selftest,
];
