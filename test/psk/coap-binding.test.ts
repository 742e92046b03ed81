// The CoAP binding with a real external peer: one role runs in a child process (node --import tsx
// harness/psk/serve.ts) at a UDP address given in a rig file; the other two run here, found through
// the rig file's `psk:` section, and the suite's checks run across the process boundary.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRigFile } from '../../harness/rig/load.ts';
import { DeviceTimeoutError } from '../../harness/rig/roles.ts';
import {
  PSK_PATHS, coapPost, formatUdpAddress, openPskSystem, sbsEndpoint, type CoapEndpoint, type PskSystem,
} from '../../harness/psk/coap-binding.ts';
import { PskServer } from '../../harness/psk/roles.ts';
import { timestampFromMs } from '../../harness/crypto/psk-reconfig.ts';
import { PSK_CHECKS, type PskEnv } from '../../suites/psk-reconfig/checks.ts';

const IK = '2b7e151628aed2a6abf7158809cf4f3c';
const SK = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

/** Starts a role in a child process and resolves with its address (deadline 20 s). */
function spawnRole(args: string[]): Promise<{ child: ChildProcess; address: string; stderr: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/psk/serve.ts', ...args, '--ik', IK, '--sk-cs', SK], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${args.join(' ')} did not report its address within 20 s; stderr: ${stderr.join('\n')}`)), 20_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited ${code}: ${stderr.join('\n')}`)); });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, address: (JSON.parse(line) as { listening: string }).listening, stderr });
    });
  });
}

/** A rig file with a `psk:` section, loaded through the normal loader. */
function rigWith(psk: string): ReturnType<typeof loadRigFile> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sehil-psk-'));
  const file = path.join(dir, 'rig.yaml');
  writeFileSync(file, `name: psk-ext\nchannel: 15\nroles:\n  tc: {driver: sim}\n  dut: {driver: sim}\n  sniffer: {driver: sim}\npsk:\n${psk}  ik: ${IK}\n  skCs: ${SK}\n`);
  return loadRigFile(file);
}

async function runCheck(id: string, sys: PskSystem): Promise<void> {
  const extra: PskSystem[] = [];
  const env: PskEnv = { sys, settings: undefined, step: async (_n, f) => await f(), track: (s) => { extra.push(s); return s; } };
  try {
    await PSK_CHECKS[id](env);
  } finally {
    for (const s of extra) await s.close();
  }
}

describe.each([
  ['sbs', 'PSK-01 PSK-05 PSK-06 PSK-08 PSK-09'],
  ['sbr', 'PSK-01 PSK-04 PSK-07 PSK-09'],
  ['sbi', 'PSK-01 PSK-03 PSK-08'],
] as const)('external %s in a child process', (role, ids) => {
  let sys: PskSystem;
  let child: Awaited<ReturnType<typeof spawnRole>>;
  it('starts, and the rig file points the in-process roles at it', async () => {
    let psk: string;
    if (role === 'sbr') {
      // The child controller needs its server's address up front: an SBS endpoint in this process.
      const nowS = () => timestampFromMs(Date.now());
      const rig0 = rigWith('');
      const prov = { idI: rig0.psk!.idI ?? 0x5e500001, idC: rig0.psk!.idC ?? 0xc0000001 };
      const ep: CoapEndpoint = sbsEndpoint(new PskServer({
        nodes: new Map([[prov.idI, Buffer.from(IK, 'hex')]]), controllers: new Map([[prov.idC, Buffer.from(SK, 'hex')]]), nowS,
      }));
      const sbs = await ep.start();
      cleanups.push(() => ep.close());
      child = await spawnRole(['--role', 'sbr', '--sbs', formatUdpAddress(sbs)]);
      psk = `  sbs: {address: "${formatUdpAddress(sbs)}"}\n  sbr: {address: "${child.address}"}\n`;
    } else {
      child = await spawnRole(['--role', role]);
      psk = `  ${role}: {address: "${child.address}"}\n`;
    }
    const rig = rigWith(psk);
    expect(rig.psk?.[role]?.address).toBe(child.address);
    sys = await openPskSystem(rig.psk);
    cleanups.push(() => sys.close());
    expect(sys[role].external).toBe(true);
  });
  for (const id of ids.split(' ')) {
    it(`${id} passes across the process boundary`, async () => {
      await runCheck(id, sys);
    });
  }
  it('the child is still alive and logged the exchanges', () => {
    expect(child.child.exitCode).toBe(null);
    expect(child.stderr.some((l) => l.includes('/psk/'))).toBe(true);
  });
});

describe('an external known-bad server is caught across processes', () => {
  it('PSK-06 fails on an SBS that accepts a reused TID (profile accepts-replay)', async () => {
    const c = await spawnRole(['--role', 'sbs', '--profile', 'accepts-replay']);
    const sys = await openPskSystem(rigWith(`  sbs: {address: "${c.address}"}\n`).psk);
    cleanups.push(() => sys.close());
    await expect(runCheck('PSK-06', sys)).rejects.toThrow(/M2 reusing a TID: expected 4.01, got 2.04/);
  });
});

describe('deadlines', () => {
  it('a peer that never answers fails with a DeviceTimeoutError naming role, step and what', async () => {
    const c = await spawnRole(['--role', 'sbs']);
    c.child.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const err = await coapPost({ host: '127.0.0.1', port: Number(c.address.split(':').at(-1)) }, PSK_PATHS.auth, new Uint8Array(57), { role: 'sbr', step: 'M2', deadlineMs: 700 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceTimeoutError);
      expect((err as Error).message).toBe(`sbr: M2: no CoAP response to POST ${c.address}/psk/auth within 700 ms`);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      c.child.kill('SIGCONT');
    }
  });
});
