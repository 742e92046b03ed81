// The `remote` driver: a role played by a device on another host's `sehil agent`. Requests go
// over ZeroMQ with deadlines; a sniffer's frames arrive pushed with sequence numbers and are
// mapped to this host's clock through the agent's clock beacons. When the agent restarts (new
// epoch) a running sniffer is started again; a device missing from the agent's list afterwards
// is reported as vanished, not as a timeout.
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { AgentClient, type CurveClientKeys } from '../../harness/remote/client.ts';
import { isLoopbackEndpoint } from '../../harness/remote/agent.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import {
  DeviceTimeoutError, RigUnavailableError, type DeviceInfo, type JoinOptions, type JoinResult, type Joiner, type NetworkParams,
  type RadioFrame, type RejoinOptions, type Sniffer, type TrustCenter,
} from '../../harness/rig/roles.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import type { Eui64 } from '../../harness/zigbee/codec.ts';

export interface RemoteRoleConfig {
  endpoint: string;
  device: string;
  serverPublicKey?: string;
  clientKeyFile?: string;
}

function loadKeys(role: string, c: RemoteRoleConfig): CurveClientKeys | undefined {
  if (!c.serverPublicKey && !c.clientKeyFile) {
    if (!isLoopbackEndpoint(c.endpoint)) {
      throw new RigUnavailableError(role, c.endpoint, 'an agent off loopback requires CURVE: set serverPublicKey and clientKeyFile (sehil agent keygen)');
    }
    return undefined;
  }
  if (!c.serverPublicKey || !c.clientKeyFile) throw new RigUnavailableError(role, c.endpoint, 'CURVE needs both serverPublicKey and clientKeyFile');
  const file = c.clientKeyFile.replace(/^~(?=\/)/, os.homedir());
  let keys: { publicKey?: string; secretKey?: string };
  try {
    keys = JSON.parse(readFileSync(file, 'utf8')) as typeof keys;
  } catch (e) {
    throw new RigUnavailableError(role, c.endpoint, `cannot read client key file ${file}: ${(e as Error).message}`);
  }
  if (typeof keys.publicKey !== 'string' || typeof keys.secretKey !== 'string' || keys.publicKey.length !== 40 || keys.secretKey.length !== 40) {
    throw new RigUnavailableError(role, c.endpoint, `${file}: expected {"publicKey": Z85(40), "secretKey": Z85(40)} as \`sehil agent keygen\` writes`);
  }
  return { serverPublicKey: c.serverPublicKey, publicKey: keys.publicKey, secretKey: keys.secretKey };
}

abstract class RemoteRole {
  protected readonly client: AgentClient;
  protected vanished: string | undefined;
  capabilities: ReadonlySet<Capability> = new Set();
  constructor(readonly role: 'tc' | 'dut' | 'sniffer', protected readonly cfg: RemoteRoleConfig) {
    this.client = new AgentClient(cfg.endpoint, loadKeys(role, cfg));
  }

  protected async call<T>(op: Parameters<AgentClient['request']>[1], args: unknown[] = [], timeoutMs = 15_000): Promise<T> {
    if (this.vanished) throw new RigUnavailableError(this.role, `${this.cfg.endpoint} ${this.cfg.device}`, this.vanished);
    try {
      return (await this.client.request(this.cfg.device, op, args, timeoutMs, this.role)) as T;
    } catch (e) {
      if (e instanceof DeviceTimeoutError) await this.checkStillThere();
      throw e;
    }
  }

  /** After a timeout: is the agent there, and does it still have our device? */
  protected async checkStillThere(): Promise<void> {
    try {
      const hello = await this.client.hello(3_000);
      if (!hello.devices.some((d) => d.name === this.cfg.device)) {
        this.vanished = `device "${this.cfg.device}" is gone from the agent (re-enumerated or unplugged); it has: ${hello.devices.map((d) => d.name).join(', ') || 'nothing'}`;
        throw new RigUnavailableError(this.role, `${this.cfg.endpoint} ${this.cfg.device}`, this.vanished);
      }
    } catch (e) {
      if (e instanceof RigUnavailableError) throw e;
      // the agent itself does not answer: the caller's timeout says so
    }
  }

  async open(): Promise<void> {
    let hello;
    try {
      hello = await this.client.hello(5_000);
    } catch {
      throw new RigUnavailableError(this.role, this.cfg.endpoint, 'the agent does not answer (is `sehil agent` running there, and is this client\'s key on its allow-list?)');
    }
    const d = hello.devices.find((x) => x.name === this.cfg.device);
    if (!d) throw new RigUnavailableError(this.role, this.cfg.endpoint, `no device "${this.cfg.device}" on the agent (it has: ${hello.devices.map((x) => x.name).join(', ') || 'nothing'})`);
    if (d.role !== this.role) throw new RigUnavailableError(this.role, this.cfg.endpoint, `device "${this.cfg.device}" plays ${d.role} on the agent, not ${this.role}`);
    this.capabilities = new Set(d.capabilities as Capability[]);
  }

  async probe(): Promise<DeviceInfo> {
    const info = await this.call<DeviceInfo>('probe');
    return { ...info, location: `${this.cfg.endpoint} ${this.cfg.device} (${info.driver} at ${info.location})`, driver: 'remote' };
  }

  async close(): Promise<void> {
    this.client.close();
  }

  takeTranscript(): string[] {
    return [`remote ${this.cfg.device} at ${this.cfg.endpoint}`];
  }
}

export class RemoteTrustCenter extends RemoteRole implements TrustCenter {
  declare readonly role: 'tc';
  eui64: Eui64 = '0000000000000000';
  constructor(cfg: RemoteRoleConfig) {
    super('tc', cfg);
  }
  override async open(): Promise<void> {
    await super.open();
    this.eui64 = (await this.probe()).eui64 ?? this.eui64;
  }
  form(net: NetworkParams): Promise<void> { return this.call('form', [net], 60_000); }
  permitJoin(seconds: number): Promise<void> { return this.call('permitJoin', [seconds]); }
  addInstallCode(eui64: Eui64, installCode: string): Promise<void> { return this.call('addInstallCode', [eui64, installCode]); }
  deleteLinkKey(eui64: Eui64): Promise<void> { return this.call('deleteLinkKey', [eui64]); }
  keyTable(): Promise<{ eui64: Eui64; key: Uint8Array; kind: string }[]> { return this.call('keyTable'); }
  networkKey(): Promise<{ key: Uint8Array; seq: number }> { return this.call('networkKey'); }
}

export class RemoteJoiner extends RemoteRole implements Joiner {
  declare readonly role: 'dut';
  eui64: Eui64 = '0000000000000000';
  constructor(cfg: RemoteRoleConfig, eui64?: Eui64) {
    super('dut', cfg);
    if (eui64) this.eui64 = eui64;
  }
  reset(): Promise<void> { return this.call('reset', [], 30_000); }
  join(opts: JoinOptions = {}): Promise<JoinResult> { return this.call('join', [opts], (opts.timeoutMs ?? 60_000) + 10_000); }
  leave(opts: { rejoin?: boolean } = {}): Promise<void> { return this.call('leave', [opts], 30_000); }
  rejoin(opts: RejoinOptions): Promise<JoinResult> { return this.call('rejoin', [opts], (opts.timeoutMs ?? 60_000) + 10_000); }
}

export class RemoteSniffer extends RemoteRole implements Sniffer {
  declare readonly role: 'sniffer';
  private queue: RadioFrame[] = [];
  private wake: (() => void) | undefined;
  private running = false;
  private channel: number | undefined;
  private epoch: string | undefined;
  private offsetUs: bigint | undefined;
  private lastSeq = 0;
  /** Frames the agent numbered but we never got (a restart, a slow link). */
  gaps = 0;
  private unlisten: (() => void)[] = [];

  constructor(cfg: RemoteRoleConfig, private readonly clock: Clock) {
    super('sniffer', cfg);
  }

  async start(channel: number): Promise<void> {
    this.channel = channel;
    this.queue = [];
    this.running = true;
    this.unlisten.push(this.client.onFrame(this.cfg.device, (f) => {
      if (f.seq !== this.lastSeq + 1 && this.lastSeq !== 0) this.gaps += Math.max(0, f.seq - this.lastSeq - 1);
      this.lastSeq = f.seq;
      const agentUs = BigInt(f.timestampUs);
      const psdu = Uint8Array.from(Buffer.from(f.psdu, 'hex'));
      this.queue.push({ psdu, fcsIncluded: f.fcsIncluded, channel: f.channel, rssi: f.rssi, lqi: f.lqi, timestampUs: agentUs + (this.offsetUs ?? 0n), heardBy: `remote:${this.cfg.device}` });
      this.wake?.();
    }));
    this.unlisten.push(this.client.onBeacon((b) => {
      if (b.device !== this.cfg.device) return;
      this.offsetUs = BigInt(Math.round(this.clock.now() * 1000)) - BigInt(b.agentNowUs);
      if (this.epoch && b.epoch !== this.epoch) void this.agentRestarted();
      this.epoch = b.epoch;
    }));
    await this.call('subscribe');
    await this.call('start', [channel]);
  }

  /** The agent came back with a new epoch: subscribe and start again, or say the device is gone. */
  private async agentRestarted(): Promise<void> {
    this.lastSeq = 0;
    try {
      await this.checkStillThere();
      if (this.running && this.channel !== undefined) {
        await this.call('subscribe');
        await this.call('start', [this.channel]);
      }
    } catch {
      this.running = false;
      this.wake?.();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const u of this.unlisten.splice(0)) u();
    this.wake?.();
    await this.call('unsubscribe').catch(() => {});
    await this.call('stop').catch(() => {});
  }

  async *frames(): AsyncIterable<RadioFrame> {
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (!this.running) {
        if (this.vanished) throw new RigUnavailableError('sniffer', `${this.cfg.endpoint} ${this.cfg.device}`, this.vanished);
        return;
      }
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = undefined;
    }
  }

  override async close(): Promise<void> {
    await this.stop().catch(() => {});
    await super.close();
  }
}
