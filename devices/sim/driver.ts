// The `sim` driver: every role is a bit-exact simulated node (harness/stack) on one virtual air.
// A rig opens one SimWorld; each test starts from a fresh world (new clock, air and nodes) so
// tests cannot leak state into each other, as a lab would power-cycle its radios between tests.
import { VirtualAir, type AirFrame } from '../../harness/sim/air.ts';
import { RealClock, VirtualClock, type Clock } from '../../harness/sim/clock.ts';
import { joinerProfile, tcProfile, type JoinerBehaviour, type TcBehaviour } from '../../harness/stack/profiles.ts';
import type { LinkKeyOrigin } from '../../harness/stack/app.ts';
import { seededKeyRandom } from '../../harness/stack/random.ts';
import { Joiner as StackJoiner } from '../../harness/stack/joiner.ts';
import { TrustCenter as StackTrustCenter } from '../../harness/stack/trust-center.ts';
import { Transcript } from '../../harness/stack/transcript.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import type {
  DeviceInfo, JoinOptions, JoinResult, Joiner, NetworkParams, RadioFrame, RejoinOptions, Sniffer, TrustCenter,
} from '../../harness/rig/roles.ts';
import type { Eui64 } from '../../harness/zigbee/codec.ts';
import type { CbkeSuite, KeyEstablishmentResult } from '../../harness/rig/roles.ts';
import { simSeJoiner, simSeTrustCenter, type SimCertificates } from './se.ts';

/** What the simulated TC and joiner can do (everything the stack implements). */
const SIM_TC_CAPABILITIES: readonly Capability[] = [
  'install-code', 'tclk-exchange', 'legacy-join', 'leave', 'rejoin-secured', 'rejoin-tc', 'key-table-edit',
  'cbke-v1', 'cbke-v2', 'cbke-dynamic', 'keepalive-server',
];
const SIM_DUT_CAPABILITIES: readonly Capability[] = [
  'install-code', 'tclk-exchange', 'legacy-join', 'leave', 'rejoin-secured', 'rejoin-tc',
  'cbke-v1', 'cbke-v2', 'cbke-dynamic', 'keepalive-client', 'tcso',
];

/** The simulated TC's EUI-64 (an unassigned-looking OUI so it never collides with a rig DUT). */
export const SIM_TC_EUI64: Eui64 = '00124b0001020304';

/**
 * One simulated medium per rig. `renew()` replaces clock, air and nodes; roles re-create their
 * node on the new air when they are next used.
 */
export class SimWorld {
  clock!: Clock;
  air!: VirtualAir;
  transcript!: Transcript;
  /** Bumped by renew(); roles compare it to rebuild their node. */
  generation = 0;
  private readonly stoppers: (() => void)[] = [];

  constructor(readonly clockKind: 'virtual' | 'real') {
    this.renew();
  }

  renew(): void {
    this.stopAll();
    this.clock = this.clockKind === 'virtual' ? new VirtualClock() : new RealClock();
    this.air = new VirtualAir(this.clock);
    this.transcript = new Transcript();
    this.generation++;
  }

  onStop(fn: () => void): void {
    this.stoppers.push(fn);
  }

  stopAll(): void {
    for (const s of this.stoppers.splice(0)) s();
  }

  /** Deterministic key material per node and generation, so a run's captures are reproducible. */
  keyRandom(seed: number) {
    return seededKeyRandom(seed * 1000 + this.generation);
  }
}

/** A role's node, rebuilt lazily whenever the world is renewed. */
abstract class SimRole<N extends { stop(): void }> {
  private built: { gen: number; node: N } | undefined;
  private taken = 0;
  constructor(protected readonly world: SimWorld, readonly name: string) {}

  protected abstract build(): N;

  get stack(): N {
    if (!this.built || this.built.gen !== this.world.generation) {
      const node = this.build();
      this.world.onStop(() => node.stop());
      this.built = { gen: this.world.generation, node };
      this.taken = 0;
    }
    return this.built.node;
  }

  /** Replaces the node (stopping the old one) on the current air. */
  protected rebuild(): void {
    this.built?.node.stop();
    this.built = undefined;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {
    this.world.stopAll();
  }

  takeTranscript(): string[] {
    const lines = this.world.transcript.lines({ node: this.name });
    const fresh = lines.slice(this.taken);
    this.taken = lines.length;
    return fresh;
  }
}

export class SimTrustCenter extends SimRole<StackTrustCenter> implements TrustCenter {
  readonly role = 'tc' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set(SIM_TC_CAPABILITIES);
  readonly eui64 = SIM_TC_EUI64;
  constructor(world: SimWorld, readonly profile: string) {
    super(world, 'tc');
    tcProfile(profile); // unknown profile names fail when the rig opens, not mid-test
  }

  /** A reconfiguration for the current test only (world generation `gen`); see reconfigure(). */
  private forTest: { gen: number; profile?: string; behaviour?: Partial<TcBehaviour>; requireKeyExchange?: boolean } | undefined;

  private get testSetup() {
    return this.forTest?.gen === this.world.generation ? this.forTest : undefined;
  }

  /** The behaviour profile the TC runs in this test: the rig's, unless reconfigure() named another. */
  get activeProfile(): string {
    return this.testSetup?.profile ?? this.profile;
  }

  protected build(): StackTrustCenter {
    const w = this.world;
    const t = this.testSetup;
    const p = tcProfile(t?.profile ?? this.profile);
    return new StackTrustCenter({
      air: w.air, clock: w.clock, eui64: this.eui64, name: this.name, transcript: w.transcript,
      profile: t?.behaviour ? { ...p.behaviour, ...t.behaviour } : p, keyRandom: w.keyRandom(1),
      requireKeyExchange: t?.requireKeyExchange,
    });
  }

  /**
   * Simulated TC only, for the current test: another behaviour profile (optionally with some of
   * its switches changed) and bdbTrustCenterRequireKeyExchange. Replaces the TC node on the
   * current air with a factory-new one (form() it again); the next test gets the rig's profile.
   */
  reconfigure(o: { profile?: string; behaviour?: Partial<TcBehaviour>; requireKeyExchange?: boolean }): void {
    if (o.profile !== undefined) tcProfile(o.profile); // an unknown name fails here, naming the known ones
    this.forTest = { gen: this.world.generation, ...o };
    this.rebuild();
  }

  /**
   * Simulated TC only: installs a link key for a device as a Key Establishment application does
   * (the key-table entry is replaced, and a 'cbke' key counts as verified). Until CBKE runs over
   * the simulated nodes in the suites, a test installs the key of a "previous session" this way.
   */
  setLinkKey(eui64: Eui64, key: Uint8Array, origin: LinkKeyOrigin = 'cbke'): void {
    this.stack.node.service.setLinkKey(eui64, key, origin);
  }

  async probe(): Promise<DeviceInfo> {
    return { driver: 'sim', location: 'sim', firmware: `sehil stack, TC profile ${this.profile}`, eui64: this.eui64 };
  }
  form(net: NetworkParams): Promise<void> {
    simSeTrustCenter(this.stack); // the Key Establishment server on the SE endpoint (devices/sim/se.ts)
    return this.stack.form(net);
  }
  async offerKeyEstablishmentSuites(suites: readonly CbkeSuite[]): Promise<void> {
    simSeTrustCenter(this.stack).offer(suites);
  }
  async keyEstablishmentResults(): Promise<KeyEstablishmentResult[]> {
    return simSeTrustCenter(this.stack).results();
  }
  /** Keep-Alive server values and off-air / back (devices/sim/se.ts). */
  async setKeepAlive(p: { baseMinutes: number; jitterSeconds: number }): Promise<void> {
    simSeTrustCenter(this.stack).setKeepAlive(p);
  }
  async setReachable(on: boolean): Promise<void> {
    simSeTrustCenter(this.stack).setReachable(on);
  }
  permitJoin(seconds: number): Promise<void> {
    return this.stack.permitJoin(seconds);
  }
  addInstallCode(eui64: Eui64, installCode: string): Promise<void> {
    return this.stack.addInstallCode(eui64, installCode);
  }
  deleteLinkKey(eui64: Eui64): Promise<void> {
    return this.stack.deleteLinkKey(eui64);
  }
  async keyTable(): Promise<{ eui64: Eui64; key: Uint8Array; kind: string }[]> {
    return (await this.stack.keyTable()).map((k) => ({ eui64: k.eui64, key: k.key, kind: k.kind }));
  }
  networkKey(): Promise<{ key: Uint8Array; seq: number }> {
    return this.stack.networkKey();
  }
}

export interface SimDutIdentity {
  eui64: Eui64;
  installCode?: string;
  /** CBKE certificates from the rig file; else the simulator CA issues them (devices/sim/se.ts). */
  certificates?: SimCertificates;
}

export class SimJoiner extends SimRole<StackJoiner> implements Joiner {
  readonly role = 'dut' as const;
  readonly capabilities: ReadonlySet<Capability>;
  private installCode: string | undefined;
  constructor(world: SimWorld, readonly profile: string, private readonly identity: SimDutIdentity, declared?: readonly Capability[], private readonly fault?: 'stops-answering') {
    super(world, 'dut');
    joinerProfile(profile);
    this.installCode = identity.installCode;
    // A rig may declare less than the simulator can do (to mimic a product); never more.
    this.capabilities = new Set(declared ? declared.filter((c) => SIM_DUT_CAPABILITIES.includes(c)) : SIM_DUT_CAPABILITIES);
  }

  get eui64(): Eui64 {
    return this.identity.eui64;
  }

  /** Changes for the current test only (world generation `gen`); see provisionForTest(), setTclkMode(). */
  private forTest: { gen: number; installCode?: string | null; tclkMode?: JoinerBehaviour['tclkMode'] } | undefined;

  private get testSetup() {
    return this.forTest?.gen === this.world.generation ? this.forTest : undefined;
  }

  protected build(): StackJoiner {
    const w = this.world;
    const t = this.testSetup;
    const p = joinerProfile(this.profile);
    const installCode = t && t.installCode !== undefined ? t.installCode ?? undefined : this.installCode;
    return new StackJoiner({
      air: w.air, clock: w.clock, eui64: this.eui64, name: this.name, transcript: w.transcript,
      profile: t?.tclkMode ? { ...p.behaviour, tclkMode: t.tclkMode } : p, installCode, keyRandom: w.keyRandom(2),
    });
  }

  /**
   * Simulated devices only, for the current test: a factory-new device whose initial TC link key
   * comes from `installCode`, or (null) the well-known key ZigBeeAlliance09. The next test gets
   * the rig's identity again.
   */
  provisionForTest(o: { installCode: string | null }): void {
    this.forTest = { ...this.testSetup, gen: this.world.generation, installCode: o.installCode };
    this.rebuild();
  }

  /**
   * Simulated devices only, for the current test: the TC link key procedure after joining —
   * 'strict' (Zigbee 3.0 exchange), 'legacy' (keeps its joining key) or 'cbke' (SE: Key
   * Establishment replaces it) — the rest of the profile (known-bad switches included) stays.
   */
  setTclkMode(mode: JoinerBehaviour['tclkMode']): void {
    this.forTest = { ...this.testSetup, gen: this.world.generation, tclkMode: mode };
    this.stack.behaviour = { ...this.stack.behaviour, tclkMode: mode };
  }

  /** The initial TC link key's kind in this test: its install code's, or the well-known key. */
  get initialKey(): 'install-code' | 'well-known' {
    const t = this.testSetup;
    const code = t && t.installCode !== undefined ? t.installCode : this.installCode;
    return code ? 'install-code' : 'well-known';
  }

  /**
   * Simulated devices only: installs the device's TC link key as a Key Establishment application
   * does (the CBKE stand-in; see SimTrustCenter.setLinkKey).
   */
  setTcLinkKey(key: Uint8Array, origin: LinkKeyOrigin = 'cbke'): void {
    const tc = this.stack.trustCenterEui64;
    if (!tc) throw new Error('dut: not on a network, no Trust Center to hold a link key with');
    this.stack.node.service.setLinkKey(tc, key, origin);
  }

  /** Simulated devices only: a factory-fresh device with another install code, on the same air. */
  setInstallCode(code: string | undefined): void {
    this.installCode = code;
    this.rebuild();
  }

  async probe(): Promise<DeviceInfo> {
    return { driver: 'sim', location: 'sim', firmware: `sehil stack, joiner profile ${this.profile}`, eui64: this.eui64 };
  }
  /** The stops-answering fault: a control request that never completes (a hung dongle). */
  private silence(): Promise<never> | undefined {
    return this.fault === 'stops-answering' ? new Promise<never>(() => {}) : undefined;
  }

  reset(): Promise<void> {
    return this.stack.reset();
  }
  async join(opts: JoinOptions = {}): Promise<JoinResult> {
    const hung = this.silence();
    if (hung) return hung;
    if (opts.keyEstablishment) return this.se().join(opts);
    const r = await this.stack.join({ channel: opts.channel ?? 11, panId: opts.panId, timeoutMs: opts.timeoutMs });
    return { joined: r.joined, shortAddress: r.shortAddress, reason: r.reason };
  }
  leave(opts: { rejoin?: boolean } = {}): Promise<void> {
    return this.silence() ?? this.stack.leave(opts);
  }
  /** CBKE with the TC as initiator, any time after joining (devices/sim/se.ts). */
  startKeyEstablishment(opts: { suite?: CbkeSuite } = {}): Promise<KeyEstablishmentResult> {
    return this.silence() ?? this.se().start(opts);
  }
  private se() {
    const suites = ([1, 2] as const).filter((n) => this.capabilities.has(`cbke-v${n}`));
    return simSeJoiner(this.stack, this.identity.certificates, suites, { keepAlive: this.capabilities.has('keepalive-client') });
  }
  async rejoin(opts: RejoinOptions): Promise<JoinResult> {
    const hung = this.silence();
    if (hung) return hung;
    const r = await this.stack.rejoin({ channel: opts.channel ?? 11, secured: opts.secured, timeoutMs: opts.timeoutMs });
    return { joined: r.joined, shortAddress: r.shortAddress, reason: r.reason };
  }
}

/** A sniffer on the virtual air: hears every frame of its channel with the FCS, as the air carries it. */
export class SimSniffer implements Sniffer {
  readonly role = 'sniffer' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set();
  private tap: { detach(): void } | undefined;
  private queue: RadioFrame[] = [];
  private wake: (() => void) | undefined;
  private running = false;
  private heard = 0;

  constructor(private readonly world: SimWorld) {}

  async open(): Promise<void> {}
  async probe(): Promise<DeviceInfo> {
    return { driver: 'sim', location: 'sim', firmware: 'virtual air tap' };
  }
  async close(): Promise<void> {
    await this.stop();
  }
  takeTranscript(): string[] {
    return [`sniffer: ${this.heard} frames heard`];
  }

  async start(channel: number): Promise<void> {
    await this.stop();
    this.queue = [];
    this.running = true;
    this.tap = this.world.air.sniff(channel, (f: AirFrame) => {
      this.heard++;
      this.queue.push({ psdu: f.psdu, fcsIncluded: true, channel: f.channel, rssi: f.rssi, lqi: f.lqi, timestampUs: f.timestampUs, heardBy: 'sim-sniffer' });
      this.wake?.();
    }, 'sniffer');
  }

  async stop(): Promise<void> {
    this.tap?.detach();
    this.tap = undefined;
    this.running = false;
    this.wake?.();
  }

  async *frames(): AsyncIterable<RadioFrame> {
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (!this.running) return;
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = undefined;
    }
  }
}
