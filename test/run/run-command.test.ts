// `sehil run` end to end, as a user runs it: the real CLI in a child process on the simulated rig,
// its exit codes, the report directory, and every capture it wrote opened by real tshark with
// the key file it wrote next to it. Then the ways a run goes wrong: bad rig files (exit 2), a
// missing dongle (exit 3), a known-bad TC (exit 1, the right case failing), a device that stops
// answering (that test fails naming role, step and deadline; the run goes on), SIGINT and SIGKILL
// (what was written stays readable).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../harness/capture/file.ts';
import type { RunRecord } from '../../harness/run/run-reporter.ts';
import { pathToFileURL } from 'node:url';
import { chromiumAvailable, chromiumSkipReason, launchChromium, watchPage, withSkipReason } from '../helpers/chromium.ts';
import { tsharkAvailable, tsharkCaptureProblems, tsharkSkipReason } from '../helpers/tshark.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/sehil.mjs');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-run-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sehil(args: string[], opts: { timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A rig file derived from rigs/sim.yaml with some lines replaced. */
function rigVariant(name: string, edit: (text: string) => string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, edit(fs.readFileSync(path.join(ROOT, 'rigs/sim.yaml'), 'utf8')));
  return file;
}

function readRun(out: string): RunRecord {
  return JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as RunRecord;
}

interface AllureNode { attachments?: { name: string; source: string; type: string }[]; steps?: AllureNode[] }
/** Allure 3 results keep attachments on the test and inside steps. */
function attachmentsOf(n: AllureNode): NonNullable<AllureNode['attachments']> {
  return [...(n.attachments ?? []), ...(n.steps ?? []).flatMap(attachmentsOf)];
}

function files(dir: string, suffix: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(suffix)).map((f) => path.join(dir, f));
}

describe('sehil run on the simulated rig', () => {
  let out: string;
  let res: ReturnType<typeof sehil>;
  beforeAll(() => {
    out = path.join(tmp, 'ok');
    res = sehil(['run', '--suite', 'install-code', '--out', out]);
  }, 180_000);

  it('exits 0, prints the summary table on stdout and progress on stderr', () => {
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^PASSED\s+IC-01\s+the TC sends the network key/m);
    expect(res.stdout).toMatch(/\d+ passed, 0 failed, \d+ skipped \(rig sim\)/);
    expect(res.stderr).toMatch(/· DUT joins/);
    expect(res.stderr).toMatch(/waiting for dut: join result \(deadline 60 s, virtual time\)/);
    // --out outside the working directory: the report paths are printed absolute, not as ../../…
    expect(res.stdout).toContain(`reports: ${out}/`);
    expect(res.stdout).toContain(`html:    ${path.join(out, 'html', 'index.html')}`);
  });

  it('writes run.json, junit.xml and Allure results with a capture attached to every test', () => {
    const run = readRun(out);
    expect(run).toMatchObject({ tool: 'sehil', status: 'passed', rig: { name: 'sim' } });
    expect(run.counts.failed).toBe(0);
    expect(run.cases.map((c) => c.id)).toEqual(expect.arrayContaining(['IC-01', 'IC-02', 'IC-03', 'IC-04', 'IC-05', 'IC-06']));
    // run.json points at each case's artifact folder, which the fixture wrote in its worker.
    for (const c of run.cases) expect(fs.readdirSync(path.join(out, c.artifacts!)), c.id).toContain(`${c.id}.pcapng`);
    const junit = fs.readFileSync(path.join(out, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)?.length).toBe(run.counts.total);
    const results = files(path.join(out, 'allure-results'), '-result.json').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as AllureNode & {
      name: string; status: string; labels: { name: string; value: string }[];
    });
    expect(results).toHaveLength(run.counts.total);
    for (const r of results) {
      expect(r.status, r.name).toBe('passed');
      expect(r.labels).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'testId' }), expect.objectContaining({ name: 'spec' })]));
      const pcap = attachmentsOf(r).find((a) => a.name.endsWith('.pcapng'));
      expect(pcap, `${r.name} has no capture attached`).toBeDefined();
      expect(fs.existsSync(path.join(out, 'allure-results', pcap!.source))).toBe(true);
    }
  });

  it.skipIf(!tsharkAvailable)('every capture opens in tshark with the key file written next to it: nothing malformed, nothing left encrypted', () => {
    const captures = files(path.join(out, 'tests'), '.pcapng');
    expect(captures.length).toBeGreaterThanOrEqual(6);
    let frames = 0;
    for (const c of captures) {
      const keyFileText = fs.readFileSync(`${c}.zigbee_pc_keys`, 'utf8');
      const r = tsharkCaptureProblems(c, [], { keyFileText });
      expect(r.problems, path.basename(c)).toEqual([]);
      expect(r.frames).toBe(readCaptureFile(c).packets.length);
      frames += r.frames;
    }
    expect(frames).toBeGreaterThan(100);
  });
  if (!tsharkAvailable) it.skip(tsharkSkipReason, () => {});

  it.skipIf(!chromiumAvailable)(withSkipReason('the HTML report opens in Chromium with every test, its status and its capture'), async () => {
    const run = readRun(out);
    const html = path.join(out, 'html', 'index.html');
    expect(fs.existsSync(html)).toBe(true);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const watch = await watchPage(page);
      await page.goto(pathToFileURL(html).href);
      const leaf = (title: string) => page.getByTestId('tree-leaf').filter({ has: page.getByTestId('tree-leaf-title').getByText(title, { exact: true }) });
      // Allure groups the tree by the suite label: open each group.
      for (const suite of new Set(run.cases.map((c) => c.suite))) await page.getByText(suite, { exact: true }).first().click();
      for (const c of run.cases) await leaf(`${c.id} ${c.title}`).getByTestId(`tree-leaf-status-${c.state}`).waitFor({ timeout: 120_000 });
      expect(await page.getByTestId('tree-leaf').count()).toBe(run.cases.length);
      await leaf(`IC-01 ${run.cases.find((c) => c.id === 'IC-01')!.title}`).click();
      await page.getByText('IC-01.pcapng', { exact: true }).waitFor({ timeout: 60_000 });
      expect(await page.locator('body').innerText()).toContain('IC-01.pcapng.zigbee_pc_keys');
      expect(watch.external, 'requests that left the machine').toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
  if (!chromiumAvailable) it.skip(chromiumSkipReason, () => {});

  it('--json prints one JSON document on stdout and nothing else', () => {
    const r = sehil(['run', '--suite', 'install-code', '--grep', 'IC-05', '--out', path.join(tmp, 'json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunRecord & { reports: { dir: string } };
    expect(doc.cases.filter((c) => c.state === 'passed').map((c) => c.id)).toEqual(['IC-05']);
    expect(doc.counts.skipped).toBe(5);
  });
  it('shards: --shard splits by suite file and report merge combines run.json, junit.xml, Allure results and captures', () => {
    const shards = [1, 2].map((i) => {
      const dir = path.join(tmp, `shard-${i}`);
      const r = sehil(['run', '--suite', 'install-code', '--shard', `${i}/2`, '--out', dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(readRun(dir).shard).toBe(`${i}/2`);
      return dir;
    });
    // One suite file: one shard runs it, the other runs nothing.
    expect(shards.map((d) => readRun(d).counts.total).sort()).toEqual([0, readRun(out).counts.total]);
    const merged = path.join(tmp, 'merged');
    const r = sehil(['report', 'merge', '--out', merged, ...shards]);
    expect(r.code, r.stderr).toBe(0);
    const run = readRun(merged);
    expect(run.counts).toEqual(readRun(out).counts);
    expect(fs.readFileSync(path.join(merged, 'junit.xml'), 'utf8').match(/<testcase /g)?.length).toBe(run.counts.total);
    expect(files(path.join(merged, 'tests'), '.pcapng')).toHaveLength(files(path.join(out, 'tests'), '.pcapng').length);
    expect(fs.existsSync(path.join(merged, 'html', 'index.html'))).toBe(true);
    expect(sehil(['report', 'merge', '--out', merged, path.join(tmp, 'nothing-here')]).stderr).toMatch(/no run\.json/);
  });
});

describe('sehil run: bad input and a bad rig', () => {
  it('a rig file with a wrong field exits 2 naming the file, line and field', () => {
    const rig = rigVariant('wrong-field', (t) => t.replace('channel: 15', 'channel: 42'));
    const r = sehil(['run', '--rig', rig, '--out', path.join(tmp, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/wrong-field\.yaml.*line \d+: channel: must be a 2\.4 GHz channel 11\.\.26/s);
  });

  it('an unknown driver exits 2 listing the drivers there are', () => {
    const rig = rigVariant('unknown-driver', (t) => t.replace(/sniffer:\n    driver: sim/, 'sniffer:\n    driver: hackrf'));
    const r = sehil(['run', '--rig', rig, '--out', path.join(tmp, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/roles\.sniffer\.driver.*"hackrf".*sim.*nrf-sniffer/s);
  });

  it('a serial driver without its port exits 2; with a port that is not there, exit 3 naming the role', () => {
    const noPort = rigVariant('no-port', (t) => t.replace('clock: virtual', 'clock: real').replace(/sniffer:\n    driver: sim/, 'sniffer:\n    driver: nrf-sniffer'));
    const r1 = sehil(['run', '--rig', noPort, '--out', path.join(tmp, 'x')]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/roles\.sniffer\.port.*required: the serial device/s);
    const gone = rigVariant('gone', (t) => t.replace('clock: virtual', 'clock: real').replace(/sniffer:\n    driver: sim/, 'sniffer:\n    driver: nrf-sniffer\n    port: /dev/serial/by-id/usb-nobody-here'));
    const r2 = sehil(['run', '--rig', gone, '--out', path.join(tmp, 'x')]);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/sniffer \(\/dev\/serial\/by-id\/usb-nobody-here\): no such serial device/);
  });

  it('an unknown suite or a bad --shard exits 2', () => {
    expect(sehil(['run', '--suite', 'nope']).stderr).toMatch(/unknown suite "nope"; suites: .*install-code/);
    const r = sehil(['run', '--shard', '3/2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shard "3\/2": expected I\/N/);
  });

  it('a known-bad TC (network key in the clear) fails IC-01 with exit 1, saying why', () => {
    const rig = rigVariant('bad-tc', (t) => t.replace(/tc:\n    driver: sim\n    profile: compliant/, 'tc:\n    driver: sim\n    profile: unencrypted-transport-key'));
    const out = path.join(tmp, 'bad-tc');
    const r = sehil(['run', '--rig', rig, '--suite', 'install-code', '--grep', 'IC-01', '--out', out]);
    expect(r.code).toBe(1);
    const ic01 = readRun(out).cases.find((c) => c.id === 'IC-01')!;
    expect(ic01.state).toBe('failed');
    expect(ic01.messages.join('\n')).toMatch(/carries the network key without APS security/);
    expect(r.stdout).toMatch(/^FAILED\s+IC-01/m);
  });

  it('a DUT that stops answering fails each test naming role, step and deadline, and the run goes on', () => {
    const rig = rigVariant('hung', (t) => t.replace(/dut:\n    driver: sim\n    profile: compliant/, 'dut:\n    driver: sim\n    profile: compliant\n    fault: stops-answering'));
    const out = path.join(tmp, 'hung');
    const r = sehil(['run', '--rig', rig, '--suite', 'install-code', '--out', out]);
    expect(r.code).toBe(1);
    const run = readRun(out);
    const ic01 = run.cases.find((c) => c.id === 'IC-01')!;
    expect(ic01.state).toBe('failed');
    expect(ic01.messages.join('\n')).toMatch(/dut: DUT joins: no join result within 60000 ms/);
    // Tests after it still ran: the ones that need no DUT answer pass.
    expect(run.cases.find((c) => c.id === 'IC-03')?.state).toBe('passed');
    expect(run.cases.find((c) => c.id === 'IC-05')?.state).toBe('passed');
    expect(run.status).toBe('failed');
  });
});

describe('sehil run: interrupted', () => {
  /** A real-time rig: IC-06 then waits 260 s of wall time, long enough to be interrupted. */
  function startLongRun(out: string): ChildProcess {
    const rig = rigVariant('real-time', (t) => t.replace('clock: virtual', 'clock: real'));
    return spawn(process.execPath, [BIN, 'run', '--rig', rig, '--suite', 'install-code', '--grep', 'IC-0[16]', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  function waitFor(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
    let seen = '';
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; stderr so far:\n${seen}`)), ms);
      child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (re.test(seen)) {
          clearTimeout(t);
          resolve(seen);
        }
      });
    });
  }
  function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  it('SIGINT: exits 130 soon, run.json says interrupted, the captures written so far read back', async () => {
    const out = path.join(tmp, 'sigint');
    const child = startLongRun(out);
    const exited = exitOf(child);
    // IC-01's result and IC-06's long wait reach the CLI in either order: wait for both.
    await waitFor(child, /(?=[\s\S]*✓ IC-01 passed)(?=[\s\S]*wait past 254 s)/, 60_000);
    child.kill('SIGINT');
    const { code } = await exited;
    expect(code).toBe(130);
    const run = readRun(out);
    expect(run.status).toBe('interrupted');
    expect(run.cases.find((c) => c.id === 'IC-01')?.state).toBe('passed');
    for (const c of files(path.join(out, 'tests'), '.pcapng')) expect(readCaptureFile(c).packets.length, c).toBeGreaterThan(0);
  }, 90_000);

  it('SIGKILL: run.json stays valid JSON and the captures read back up to their last frame', async () => {
    const out = path.join(tmp, 'sigkill');
    const child = startLongRun(out);
    const exited = exitOf(child);
    // IC-01's result and IC-06's long wait reach the CLI in either order: wait for both.
    await waitFor(child, /(?=[\s\S]*✓ IC-01 passed)(?=[\s\S]*wait past 254 s)/, 60_000);
    // Kill the whole process group: the CLI and its vitest workers, as `kill -9` on a hung run would.
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    const run = readRun(out);
    expect(run.cases.find((c) => c.id === 'IC-01')?.state).toBe('passed');
    const captures = files(path.join(out, 'tests'), '.pcapng');
    expect(captures.length).toBe(2);
    for (const c of captures) expect(readCaptureFile(c).packets.length, c).toBeGreaterThan(0);
  }, 90_000);
});
