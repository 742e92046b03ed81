// `npm run bench -- <group> [<group> …]`: runs the named benchmark groups and prints one JSON line
// per case. Groups are registered below; with no argument the available groups are listed.
import { aesCases } from './aes.ts';
import { cryptoCases } from './crypto.ts';
import { decodeCases } from './decode.ts';
import type { BenchCase } from './measure.ts';
import { scaleCases, scaleDevices } from './scale.ts';

/** Benchmark groups by name. Add a group by exporting its cases from a bench/<group>.ts file. */
const GROUPS: Readonly<Record<string, (argv: readonly string[]) => readonly BenchCase[]>> = {
  aes: () => aesCases(),
  crypto: () => cryptoCases(),
  decode: () => decodeCases(),
  scale: (argv) => scaleCases(scaleDevices(argv)),
};

/** Options with a value (`--devices N` of the scale group), taken out before the group names. */
const VALUED_OPTIONS = new Set(['--devices']);

async function main(argv: readonly string[]): Promise<number> {
  const names = argv.filter((a, i) => a !== '--' && !VALUED_OPTIONS.has(a) && !VALUED_OPTIONS.has(argv[i - 1]));
  if (names.length === 0) {
    console.error(`usage: npm run bench -- <group> … [--devices N (scale)]   groups: ${Object.keys(GROUPS).join(', ')}`);
    return 2;
  }
  const unknown = names.filter((n) => !(n in GROUPS));
  if (unknown.length > 0) {
    console.error(`unknown bench group(s): ${unknown.join(', ')} (available: ${Object.keys(GROUPS).join(', ')})`);
    return 2;
  }
  for (const name of names) {
    let cases: readonly BenchCase[];
    try {
      cases = GROUPS[name](argv);
    } catch (e) {
      console.error(e instanceof Error ? e.message : String(e));
      return 2;
    }
    for (const c of cases) {
      const result = await c.run();
      console.log(JSON.stringify({ case: c.name, ...result }));
    }
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
