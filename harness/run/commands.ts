// Registry of CLI commands; each lives in its own module under ./commands/.
import type { Command } from './cli.ts';
import { icDerive } from './commands/ic-derive.ts';

export const commands: Command[] = [
  icDerive,
];
