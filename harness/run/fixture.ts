// The vitest side of a conformance run. `conformance(caseId, body)` declares a test from its
// catalog entry; the fixtures open the rig once per file, give every test a fresh start, a capture
// of the air (pcapng written frame by frame), and afterwards write the test's keys file, decoded
// trace and device transcripts and attach them to the Allure result.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as allure from 'allure-js-commons';
import { inject, test as base, type TestContext } from 'vitest';
import { writeWiresharkKeys } from '../capture/wireshark-keys.ts';
import { deriveInstallCodeLinkKey, parseInstallCode } from '../crypto/install-code.ts';
import { loadRigFile } from '../rig/load.ts';
import { openRig, type Rig } from '../rig/registry.ts';
import { DeviceTimeoutError } from '../rig/roles.ts';
import type { CatalogCase } from '../../suites/catalog-types.ts';
import { catalogCase } from '../../suites/catalog.ts';
import { AirLog, type KeyInfo } from './air-log.ts';
import { emitProgress } from './progress.ts';
import { slug, testArtifactDir } from './artifact-paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Rig file of the run (default rigs/sim.yaml). */
    sehilRig: string;
    /** Where per-test artifacts go (default reports/). */
    sehilOut: string;
    /** Selftest: behaviour profiles that replace the rig's simulated ones. */
    sehilProfiles: { tc?: string; dut?: string };
  }
}

function provided<K extends 'sehilRig' | 'sehilOut' | 'sehilProfiles'>(key: K): import('vitest').ProvidedContext[K] | undefined {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}

export interface Steps {
  /** Runs `body` as a named step: shown in progress, recorded in the Allure result, named in timeouts. */
  <T>(name: string, body: () => Promise<T> | T): Promise<T>;
  readonly current: string;
}

export interface ConformanceContext {
  rig: Rig;
  air: AirLog;
  step: Steps;
  /** Awaits a device operation with a deadline on the rig's clock; a miss names role, step and what. */
  within<T>(role: string, awaited: string, ms: number, p: Promise<T>): Promise<T>;
  /** The DUT's install-code link key, when the rig gives an install code. */
  dutInstallCodeKey?: Uint8Array;
  /** Records a measured value against its tolerance in the report, and returns whether it is within. */
  measure(what: string, value: number, expected: { min: number; max: number; unit: string }): boolean;
  caseInfo: CatalogCase;
}

async function rigKeys(rig: Rig, icKey: Uint8Array | undefined): Promise<KeyInfo[]> {
  const keys: KeyInfo[] = [];
  try {
    const nk = await rig.tc.networkKey();
    keys.push({ kind: 'network', label: `nwk#${nk.seq}`, key: nk.key, seq: nk.seq });
  } catch {
    // not formed yet
  }
  if (icKey) keys.push({ kind: 'link', label: 'dut-install-code', key: icKey, eui64: rig.dutIdentity.eui64 });
  try {
    for (const k of await rig.tc.keyTable()) keys.push({ kind: 'link', label: `tc-${k.kind}`, key: k.key, eui64: k.eui64 });
  } catch {
    // a TC that cannot list keys: frames under its keys stay encrypted in the trace
  }
  return keys;
}

const withRig = base.extend('rig', { scope: 'file' }, async ({}, { onCleanup }) => {
  const file = provided('sehilRig') ?? process.env.SEHIL_RIG ?? 'rigs/sim.yaml';
  const config = loadRigFile(file);
  const profiles = provided('sehilProfiles');
  if (profiles?.tc && config.roles.tc.driver === 'sim') config.roles.tc = { ...config.roles.tc, profile: profiles.tc };
  if (profiles?.dut && config.roles.dut.driver === 'sim') config.roles.dut = { ...config.roles.dut, profile: profiles.dut };
  const rig = await openRig(config, file);
  onCleanup(() => rig.close());
  return rig;
});

function installCodeKey(rig: Rig): Uint8Array | undefined {
  const code = rig.dutIdentity.installCode;
  return code ? deriveInstallCodeLinkKey(parseInstallCode(code)) : undefined;
}

/** Per-test artifacts directory: <out>/tests/<suite>/<case-id-and-title>/ */
function artifactDir(task: TestContext['task']): string {
  const out = provided('sehilOut') ?? process.env.SEHIL_OUT ?? 'reports';
  const suite = path.basename(path.dirname(task.file.filepath));
  const dir = path.join(out, testArtifactDir(suite, task.name));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export type ConformanceBody = (ctx: ConformanceContext) => Promise<void>;

/** The capture each rig's running case writes (one case at a time per rig). */
const liveCaptures = new WeakMap<Rig, { id: string; air: AirLog }>();

/**
 * The longest wait on the rig's clock a case may make on a real-time rig, ms: SEHIL_MAX_WAIT_S
 * (`sehil run --max-wait S`), unlimited when unset. A rig on virtual time is never limited.
 */
export function realWaitBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.SEHIL_MAX_WAIT_S;
  if (text === undefined || text === '') return Infinity;
  const s = Number(text);
  if (!(s >= 0)) throw new Error(`SEHIL_MAX_WAIT_S="${text}": expected seconds ≥ 0`);
  return s * 1000;
}

export interface ConformanceOptions {
  /** Test deadline, ms of real time (default 120 s plus `longestWaitMs`). */
  timeoutMs?: number;
  /**
   * The longest single wait the case makes on the rig's clock (e.g. IC-06 sleeps 260 s past a
   * permit-join window). On a real-time rig a case whose wait exceeds the budget
   * (realWaitBudgetMs) is skipped with that reason instead of being cut short.
   */
  longestWaitMs?: number;
}

/**
 * Declares the catalog case `id` as a test. Skipped, with the reason, when the rig lacks a
 * capability the case needs, the case is simulator-only and the rig is not, or the case would
 * wait longer in real time than the run allows.
 */
export function conformance(id: string, body: ConformanceBody, opts: ConformanceOptions = {}): void {
  const c = catalogCase(id);
  withRig(`${c.id} ${c.title}`, { timeout: opts.timeoutMs ?? 120_000 + (opts.longestWaitMs ?? 0) }, async ({ rig, task, skip }) => {
    const budget = realWaitBudgetMs();
    const lack = rig.lacks(c.needs) ?? (c.simOnly && !rig.sim ? `simulator-only check (rig ${rig.name} is not simulated)` : undefined)
      ?? (rig.sim?.clockKind !== 'virtual' && (opts.longestWaitMs ?? 0) > budget
        ? `waits ${opts.longestWaitMs! / 1000} s of real time on rig ${rig.name}, over the run's budget of ${budget / 1000} s (SEHIL_MAX_WAIT_S / sehil run --max-wait): raise it to run this case`
        : undefined);
    if (lack) skip(lack);
    await allure.label('testId', c.id);
    await allure.label('suite', c.suite);
    await allure.label('rig', rig.name);
    for (const s of c.spec) {
      await allure.label('spec', s.ref);
      if (s.url) await allure.link(s.url, s.ref);
    }
    await rig.beginTest();
    const dir = artifactDir(task);
    const base = slug(c.id);
    let current = 'setup';
    const step = (async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
      const outer = current;
      current = name;
      emitProgress({ kind: 'step', name });
      try {
        return await allure.step(name, async () => await fn());
      } finally {
        current = outer;
      }
    }) as Steps;
    Object.defineProperty(step, 'current', { get: () => current });
    const icKey = installCodeKey(rig);
    const air = new AirLog({
      sniffer: rig.sniffer, clock: rig.clock, channel: rig.channel, capturePath: path.join(dir, `${base}.pcapng`),
      keys: () => rigKeys(rig, icKey), step: () => current,
    });
    const measurements: string[] = [];
    const ctx: ConformanceContext = {
      rig, air, step, caseInfo: c, dutInstallCodeKey: icKey,
      within(role, awaited, ms, p) {
        const at = current;
        emitProgress({ kind: 'wait', role, awaited, deadlineMs: ms, clock: rig.sim?.clockKind ?? 'real' });
        let cancel = () => {};
        const timeout = new Promise<never>((_, reject) => {
          cancel = rig.clock.setTimer(ms, () => reject(new DeviceTimeoutError(role, at, awaited, ms)));
        });
        return Promise.race([p, timeout]).finally(cancel);
      },
      measure(what, value, expected) {
        const ok = value >= expected.min && value <= expected.max;
        measurements.push(`${ok ? 'ok  ' : 'OUT '} ${what}: ${value} ${expected.unit} (allowed ${expected.min}..${expected.max} ${expected.unit})`);
        return ok;
      },
    };
    // A case that ran past its deadline may still be awake (vitest does not stop its body): close
    // its capture now, so its late cleanup cannot stop the sniffer under this case.
    const late = liveCaptures.get(rig);
    if (late) {
      emitProgress({ kind: 'step', name: `closing the capture of ${late.id}, which ran past its deadline` });
      await late.air.stop();
    }
    await air.start();
    liveCaptures.set(rig, { id: c.id, air });
    try {
      await body(ctx);
    } finally {
      if (liveCaptures.get(rig)?.air === air) liveCaptures.delete(rig);
      await air.stop();
      const capture = air.capturePath;
      const keys = air.keyring.all.filter((k) => k.origin !== 'well-known' || air.frames.some((f) => f.security.some((s) => s.keyLabel === k.label)));
      const written = writeWiresharkKeys(capture, keys.map((k) => ({ label: k.label, key: k.key })));
      const trace = path.join(dir, `${base}.trace.txt`);
      writeFileSync(trace, air.trace().join('\n') + '\n');
      const transcript = path.join(dir, `${base}.transcript.txt`);
      const lines = [rig.tc, rig.dut, rig.sniffer].flatMap((r) => [`# ${r.role}`, ...r.takeTranscript()]);
      writeFileSync(transcript, lines.join('\n') + '\n');
      await allure.attachmentPath(path.basename(capture), capture, { contentType: 'application/vnd.tcpdump.pcap', fileExtension: 'pcapng' });
      await allure.attachmentPath(path.basename(written.keyFile), written.keyFile, { contentType: 'text/plain', fileExtension: 'txt' });
      await allure.attachmentPath('tshark command', written.commandFile, { contentType: 'text/plain', fileExtension: 'txt' });
      await allure.attachmentPath('decoded trace', trace, { contentType: 'text/plain', fileExtension: 'txt' });
      await allure.attachmentPath('device transcripts', transcript, { contentType: 'text/plain', fileExtension: 'txt' });
      if (measurements.length) {
        const timing = path.join(dir, `${base}.timing.txt`);
        writeFileSync(timing, measurements.join('\n') + '\n');
        await allure.attachmentPath('timing', timing, { contentType: 'text/plain', fileExtension: 'txt' });
      }
    }
  });
}
