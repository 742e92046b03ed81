// A case that runs past its test deadline (fixtures/overrun): vitest starts the next case while
// the first one's body still runs. The fixture closes the late case's capture before the next
// case starts capturing, so the late body's cleanup, when it finally runs, cannot stop the
// sniffer under the next case (a real sniffer driver also refuses a second start: "already
// capturing"), and the next case sees every frame of its own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startVitest } from 'vitest/node';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtureDir = fileURLToPath(new URL('./fixtures/overrun/', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-overrun-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('the case after one that overran its deadline keeps its capture to the end', async () => {
  const exitCode = process.exitCode;
  const out = path.join(tmp, 'reports');
  const vitest = await startVitest('test', [], {
    config: false, root: repoRoot, dir: fixtureDir, include: ['**/*.suite.ts'], watch: false, reporters: [{}], // silent: its failing case is by design
    provide: { sehilRig: path.join(repoRoot, 'rigs/sim.yaml'), sehilOut: out, sehilProfiles: {} },
  }, { cacheDir: path.join(tmp, 'vite-cache') });
  await new Promise((r) => setTimeout(r, 2500)); // the late body ends and cleans up
  await vitest.close();
  process.exitCode = exitCode; // the overrunning case fails by design
  const states: Record<string, { state: string; errors: string[] }> = {};
  for (const mod of vitest.state.getTestModules()) {
    for (const t of mod.children.allTests()) states[t.name.slice(0, 5)] = { state: t.result().state, errors: (t.result().errors ?? []).map((e) => e.message) };
  }
  expect(states['IC-05']).toMatchObject({ state: 'failed', errors: [expect.stringMatching(/timed out in 300ms/)] });
  expect(states['IC-03'], JSON.stringify(states['IC-03'])).toMatchObject({ state: 'passed' });
}, 60_000);
