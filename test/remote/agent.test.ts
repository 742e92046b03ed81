// The remote agent over real ZeroMQ: a suite run through the `remote` driver against an agent in
// another process; CURVE keeping out clients without a key or with an unknown one; malformed and
// oversized messages refused without harming the agent; an agent restart seen by the client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../harness/capture/file.ts';
import { AgentConfigError, startAgent, z85Encode, type Agent, type AgentDevice } from '../../harness/remote/agent.ts';
import { AgentClient, RemoteDeviceError } from '../../harness/remote/client.ts';
import { MAX_MESSAGE_BYTES } from '../../harness/remote/wire.ts';
import { parseRig } from '../../harness/rig/load.ts';
import { openRig, type Rig } from '../../harness/rig/registry.ts';
import { DeviceTimeoutError } from '../../harness/rig/roles.ts';
import { RemoteTrustCenter } from '../../devices/remote/driver.ts';
import type { RunRecord } from '../../harness/run/run-reporter.ts';
import { tsharkAvailable, tsharkCaptureProblems } from '../helpers/tshark.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/sehil.mjs');
const SIM = fs.readFileSync(path.join(ROOT, 'rigs/sim.yaml'), 'utf8');
const REAL_SIM = SIM.replace('clock: virtual', 'clock: real');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-agent-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function simDevices(): Promise<{ rig: Rig; devices: AgentDevice[] }> {
  const rig = await openRig(parseRig(REAL_SIM, 'agent-sim.yaml'), 'agent-sim.yaml');
  return { rig, devices: (['tc', 'dut', 'sniffer'] as const).map((r) => ({ name: r, role: rig[r], driver: 'sim' })) };
}

describe('a suite run through the remote driver, agent in another process', () => {
  let child: ChildProcess;
  let endpoint: string;
  beforeAll(async () => {
    const rigFile = path.join(tmp, 'agent-rig.yaml');
    fs.writeFileSync(rigFile, REAL_SIM);
    child = spawn(process.execPath, [BIN, 'agent', '--bind', 'tcp://127.0.0.1:0', '--rig', rigFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    endpoint = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('agent did not start within 20 s')), 20_000);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"endpoint":"([^"]+)"/.exec(out);
        if (m) { clearTimeout(t); resolve(m[1]); }
      });
    });
  }, 30_000);
  afterAll(() => { child?.kill('SIGKILL'); });

  it('sehil run --rig <remote rig> passes IC-01, and the capture heard through the agent opens in tshark', () => {
    const roles = ['tc', 'dut', 'sniffer'].map((r) => `  ${r}:\n    driver: remote\n    endpoint: ${endpoint}\n    device: ${r}`).join('\n');
    const remote = path.join(tmp, 'remote.yaml');
    fs.writeFileSync(remote, `name: via-agent\nclock: real\nchannel: 15\npanId: 0x1a62\nroles:\n${roles.replace('    device: dut', '    device: dut\n    identity:\n      eui64: 00:0d:6f:00:0b:12:34:56\n      installCode: 83FED3407A939723A5C639B26916D505C3B5')}\n`);
    const out = path.join(tmp, 'out');
    const r = spawnSync(process.execPath, [BIN, 'run', '--rig', remote, '--suite', 'install-code', '--grep', 'IC-0[15]', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as RunRecord;
    expect(run.cases.filter((c) => c.state === 'passed').map((c) => c.id).sort()).toEqual(['IC-01', 'IC-05']);
    const capture = (fs.readdirSync(path.join(out, 'tests'), { recursive: true }) as string[]).find((f) => f.endsWith('IC-01.pcapng'))!;
    const file = path.join(out, 'tests', capture);
    expect(readCaptureFile(file).packets.length).toBeGreaterThan(10);
    if (tsharkAvailable) expect(tsharkCaptureProblems(file, [], { keyFileText: fs.readFileSync(`${file}.zigbee_pc_keys`, 'utf8') }).problems).toEqual([]);
  }, 150_000);
});

describe('CURVE: only clients on the allow-list get in', () => {
  const server = zmq.curveKeyPair();
  const allowed = zmq.curveKeyPair();
  const stranger = zmq.curveKeyPair();
  let agent: Agent;
  let rig: Rig;
  beforeAll(async () => {
    const d = await simDevices();
    rig = d.rig;
    agent = await startAgent({ bind: 'tcp://127.0.0.1:0', devices: d.devices, curve: { ...server, allow: [allowed.publicKey] } });
  });
  afterAll(async () => {
    await agent?.close();
    await rig?.close();
  });

  it('the allowed client is answered', async () => {
    const c = new AgentClient(agent.endpoint, { serverPublicKey: server.publicKey, ...allowed });
    try {
      const hello = await c.hello();
      expect(hello.devices.map((x) => x.name)).toEqual(['tc', 'dut', 'sniffer']);
      expect(hello.epoch).toBe(agent.epoch);
    } finally {
      c.close();
    }
  });

  it('a client with no key or an unknown key gets no answer, no frame, and runs no command', async () => {
    const before = agent.stats.requests;
    const noKey = new AgentClient(agent.endpoint);
    const unknown = new AgentClient(agent.endpoint, { serverPublicKey: server.publicKey, ...stranger });
    let frames = 0;
    noKey.onFrame('sniffer', () => frames++);
    unknown.onFrame('sniffer', () => frames++);
    try {
      await expect(noKey.request('sniffer', 'subscribe', [], 1500)).rejects.toBeInstanceOf(DeviceTimeoutError);
      await expect(unknown.request('tc', 'form', [{ channel: 15, panId: 0x1a62 }], 1500)).rejects.toBeInstanceOf(DeviceTimeoutError);
      expect(agent.stats.requests).toBe(before);
      expect(agent.stats.rejectedClients).toBeGreaterThan(0);
      expect(frames).toBe(0);
      await expect(rig.tc.networkKey()).rejects.toThrow(); // the TC was never formed by the stranger
    } finally {
      noKey.close();
      unknown.close();
    }
  });

  it('malformed and oversized messages are refused; the agent goes on answering', async () => {
    const c = new AgentClient(agent.endpoint, { serverPublicKey: server.publicKey, ...allowed });
    try {
      const malformedBefore = agent.stats.malformed;
      await c.sendRaw(new TextEncoder().encode('{"v":1,"kind":"request","id":"x"'));
      await c.sendRaw(new TextEncoder().encode(JSON.stringify({ v: 1, kind: 'request', id: 5, device: 'tc', op: 'rm -rf', args: [] })));
      await c.sendRaw(new Uint8Array(MAX_MESSAGE_BYTES + 4096)); // over the socket's limit: the connection is dropped
      await expect.poll(() => agent.stats.malformed, { timeout: 5_000 }).toBe(malformedBefore + 2);
      const again = new AgentClient(agent.endpoint, { serverPublicKey: server.publicKey, ...allowed });
      try {
        expect((await again.hello()).epoch).toBe(agent.epoch);
        await expect(again.request('nope', 'probe')).rejects.toBeInstanceOf(RemoteDeviceError);
      } finally {
        again.close();
      }
    } finally {
      c.close();
    }
  });

  it('refuses to bind off loopback without keys', async () => {
    await expect(startAgent({ bind: 'tcp://0.0.0.0:0', devices: [] })).rejects.toBeInstanceOf(AgentConfigError);
    const r = spawnSync(process.execPath, [BIN, 'agent', '--bind', 'tcp://0.0.0.0:5999', '--rig', 'rigs/sim.yaml'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not loopback: give --keys .* and --allow/);
  });

  it('keygen writes a pair the agent and clients accept', () => {
    const r = spawnSync(process.execPath, [BIN, 'agent', 'keygen', '--out', path.join(tmp, 'lab')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const pair = JSON.parse(fs.readFileSync(path.join(tmp, 'lab.key'), 'utf8')) as { publicKey: string; secretKey: string };
    expect(r.stdout).toContain(`public key: ${pair.publicKey}`);
    expect(fs.statSync(path.join(tmp, 'lab.key')).mode & 0o777).toBe(0o600);
    expect(z85Encode(new Uint8Array(4))).toBe('00000');
  });
});

describe('agent restart and a vanished device', () => {
  it('requests time out naming the role while the agent is down, work again when it is back, and a device gone after the restart is named', async () => {
    const d = await simDevices();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const endpoint = `tcp://127.0.0.1:${port}`;
    let agent = await startAgent({ bind: endpoint, devices: d.devices });
    const tc = new RemoteTrustCenter({ endpoint, device: 'tc' });
    try {
      await tc.open();
      expect((await tc.probe()).location).toContain(`${endpoint} tc`);
      await agent.close();
      await expect((tc as unknown as { call(op: string, a: unknown[], ms: number): Promise<unknown> }).call('probe', [], 1000)).rejects.toBeInstanceOf(DeviceTimeoutError);
      agent = await startAgent({ bind: endpoint, devices: d.devices });
      await expect.poll(async () => (await tc.probe().catch(() => undefined))?.driver, { timeout: 10_000 }).toBe('remote');
      await agent.close();
      agent = await startAgent({ bind: endpoint, devices: d.devices.filter((x) => x.name !== 'tc') });
      const err = await (tc as unknown as { call(op: string, a: unknown[], ms: number): Promise<unknown> }).call('networkKey', [], 1500).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteDeviceError);
      expect((err as Error).message).toMatch(/no device "tc" on this agent/);
    } finally {
      await tc.close();
      await agent.close();
      await d.rig.close();
    }
  }, 60_000);
});
