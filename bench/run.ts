// `npm run bench -- <group> [<group> …]`: runs the named benchmark groups and prints one JSON line
// per case. Groups are registered below; with no argument the available groups are listed.
import { aesCases } from './aes.ts';
import { cryptoCases } from './crypto.ts';
import { decodeCases } from './decode.ts';
import type { BenchCase } from './measure.ts';

/** Benchmark groups by name. Add a group by exporting its cases from a bench/<group>.ts file. */
const GROUPS: Readonly<Record<string, () => readonly BenchCase[]>> = {
  aes: () => aesCases(),
  crypto: () => cryptoCases(),
  decode: () => decodeCases(),
};

async function main(argv: readonly string[]): Promise<number> {
  const names = argv.filter((a) => a !== '--');
  if (names.length === 0) {
    console.error(`usage: npm run bench -- <group> …   groups: ${Object.keys(GROUPS).join(', ')}`);
    return 2;
  }
  const unknown = names.filter((n) => !(n in GROUPS));
  if (unknown.length > 0) {
    console.error(`unknown bench group(s): ${unknown.join(', ')} (available: ${Object.keys(GROUPS).join(', ')})`);
    return 2;
  }
  for (const name of names) {
    for (const c of GROUPS[name]()) {
      const result = await c.run();
      console.log(JSON.stringify({ case: c.name, ...result }));
    }
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
