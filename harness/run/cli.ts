// The `sehil` command line. Contract: ../../README.md and DESIGN.md "The command line".
// Exit codes: 0 all passed, 1 some test failed, 2 bad input or usage, 3 rig/hardware unavailable.

export const EXIT = { ok: 0, failed: 1, usage: 2, rigUnavailable: 3 } as const;

/** Bad input or usage: the message says what to fix; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export interface Command {
  /** Words that select the command, e.g. ['ic', 'derive']. */
  words: string[];
  usage: string;
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

const nodeIO: CliIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

async function loadCommands(): Promise<Command[]> {
  const { commands } = await import('./commands.ts');
  return commands;
}

function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return [
    'sehil — conformance kit for Zigbee Smart Energy security',
    '',
    'Usage:',
    ...commands.map((c) => `  sehil ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 passed, 1 a test failed, 2 bad input or usage, 3 rig unavailable.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = nodeIO): Promise<number> {
  const commands = await loadCommands();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(help(commands));
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const cmd = commands
    .filter((c) => c.words.every((w, i) => argv[i] === w))
    .sort((a, b) => b.words.length - a.words.length)[0];
  if (!cmd) {
    io.err(`sehil: unknown command "${argv.join(' ')}"\n\n${help(commands)}`);
    return EXIT.usage;
  }
  const rest = argv.slice(cmd.words.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`Usage: sehil ${cmd.usage}\n${cmd.summary}`);
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`sehil ${cmd.words.join(' ')}: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
}
