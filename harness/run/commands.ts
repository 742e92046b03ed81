// Registry of CLI commands; each lives in its own module under ./commands/.
import type { Command } from './cli.ts';

export const commands: Command[] = [];
