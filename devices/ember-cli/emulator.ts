// An emulator of an EmberZNet Z3/SE application's CLI (radios.md §3) on one end of a
// pseudo-terminal pair; the driver under test opens the other end. Behind the CLI runs a simulated
// node of harness/stack on a VirtualAir: a TrustCenter for a coordinator build (`role: 'tc'`), a
// Joiner for a device build (`role: 'joiner'`). A build with the Key Establishment plugin
// (`keyEstablishment: true`) hosts the CBKE server (TC) or client (device) of
// harness/stack/smart-energy.ts with the simulator's test-CA certificates (devices/sim/se.ts).
//
// What it prints follows the CLI as far as the sources go (protocol.ts header):
// - echo of every line typed, then the reply, then the prompt WITHOUT a line ending;
// - `plugin network-creator form …` → `NWK Creator: Form: 0x00` (formation completes shortly
//   after; `network id` shows 0xFFFE until then); `network pjoin N` → `pJoin for N sec: 0x00`;
// - `option install-code <i> {eui} {ic+crc}` → `Success: Set joining link key`, `ERR: Install
//   Code must be 8, 10, 14, or 18 bytes in length`, `ERR: Calculated CRC does not match`;
// - `keys print` from the node's real tables: NWK key + sequence, the TC link key row, the link
//   key table (fixed slots, `Auth y` for a CBKE-established key) and the transient key table
//   (install-code keys); `keys delete <i>` prints nothing, `ERROR: erase key <i>: 0xB1` out of range;
// - device: `plugin network-steering mask set 1 <mask>`, `plugin network-steering start 0`,
//   `network leave` (`leave 0x00`; on the TC too: the network goes down, the next form is fresh), `network rejoin <key> <mask>` (`rejoin 0x00`), `plugin
//   key-establishment start <node> <ep>` (`Starting Key Establishment w/ 0x0000, EP: 0x01`);
// - TC with the test-harness component (`testHarness: true`): `plugin key-establishment
//   set-available-suite <bitmap>` (prints nothing) restricts the suites its KE server offers.
// Asynchronous outcomes, emulator wording (verify on hardware): `NWK Steering: Join Success` /
// `NWK Steering: Join Failure: 0x<EmberStatus>`, `Stack status: 0x90|0x<status>` after a rejoin,
// `Success: Key Establishment` / `Error: Key Establishment: 0x<Terminate status or FF>`.
// The TC keeps a device's key-table entry when it leaves and uses it for a fresh join (the
// EmberZNet behaviour of ember-se-rejoin-after-leave-faq.txt: profile freshJoinKey 'current-key');
// `keys delete` is the fix. Deviation: transient install-code keys do not expire.
//
// Fault injection for the driver's tests: raw bytes (garbage, partial lines), a mute firmware,
// a CLI stuck on a command, an `Error:`/`ERR:` for a command, the port closing mid-command.
import { SerialPort } from 'serialport';
import { deriveInstallCodeLinkKey, installCodeFromBytes } from '../../harness/crypto/install-code.ts';
import type { CbkeSuite } from '../../harness/rig/roles.ts';
import type { VirtualAir } from '../../harness/sim/air.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { wellKnownTcLinkKey } from '../../harness/stack/keys.ts';
import type { ZigbeeNode } from '../../harness/stack/node.ts';
import { COMPLIANT_TC } from '../../harness/stack/profiles.ts';
import { hostSeDevice, hostSeTrustCenter, type SeDevice, type SeTrustCenter } from '../../harness/stack/smart-energy.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { deterministicRandom } from '../../harness/crypto/test-ca.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';
import { LineSplitter } from '../nrf-sniffer/protocol.ts';
import { simCredentials } from '../sim/se.ts';
import { formatKeysPrint, formatNetworkId, type KeyRow } from './protocol.ts';

export interface EmberEmulatorOptions {
  path: string;
  air: VirtualAir;
  clock: Clock;
  eui64: Eui64;
  /** Coordinator/TC application or a device application. */
  role: 'tc' | 'joiner';
  /** Default `Z3Gateway>`. */
  prompt?: string;
  /** The build includes the Key Establishment plugin (SE). Default false. */
  keyEstablishment?: boolean;
  /** Suites it holds a certificate for (default [1]). */
  cbkeSuites?: readonly CbkeSuite[];
  /**
   * The build includes the test-harness component: `plugin key-establishment set-available-suite
   * <bitmap>` sets the KeyEstablishmentSuite the TC's KE server offers. Default false.
   */
  testHarness?: boolean;
  /** Device: the install code in the manufacturing tokens. */
  installCode?: string;
  deviceType?: 'router' | 'end-device';
  /** Link key table size (EMBER_KEY_TABLE_SIZE), default 6. */
  keyTableSize?: number;
  /** Delay of the stack's asynchronous work after a command, ms (default 5). */
  asyncDelayMs?: number;
  hangup?: () => void | Promise<void>;
}

interface Fault {
  match: (cmd: string) => boolean;
  kind: 'hang' | 'error' | 'close' | 'before';
  text?: string;
  ms?: number;
  once: boolean;
}

const ST_SUCCESS = 0x00;
const ST_INVALID_CALL = 0x70;
const ST_NOT_JOINED = 0x93;
const ST_INDEX_OUT_OF_RANGE = 0xb1;
const NETWORK_UP = 0x90;
/** EmberZNet's default primary channel mask for steering (11, 14, 15, 19, 20, 24, 25). */
const DEFAULT_PRIMARY_MASK = 0x0318c800;
const h2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

export class EmberCliEmulator {
  private port: SerialPort | null = null;
  private readonly splitter = new LineSplitter();
  private mute = false;
  private stuck = false;
  private readonly faults: Fault[] = [];
  private readonly timers = new Set<() => void>();
  private queue: Promise<void> = Promise.resolve();
  private readonly prompt: string;
  private readonly eui: Eui64;
  /** The simulated node behind the CLI. */
  tc: TrustCenter | null = null;
  joiner: Joiner | null = null;
  seTc: SeTrustCenter | null = null;
  seDevice: SeDevice | null = null;
  private formed = false;
  private forming = false;
  /** The TC's ephemeral keys: one stream across re-hostings of its KE server (no key is used twice). */
  private readonly tcKeRandom = deterministicRandom('ember-emu-tc-ke');
  private readonly installCodes = new Map<Eui64, Uint8Array>();
  private readonly slots: (Eui64 | null)[];
  private steeringMask = DEFAULT_PRIMARY_MASK;
  /** KeyEstablishmentSuite bitmap set with `set-available-suite` (undefined: every suite it has a certificate for). */
  private availableSuites: number | undefined;
  private steering = false;
  /** Commands received, in order (for assertions). */
  readonly commands: string[] = [];

  constructor(private readonly o: EmberEmulatorOptions) {
    this.prompt = o.prompt ?? 'Z3Gateway>';
    this.eui = parseEui64(o.eui64);
    this.slots = new Array<Eui64 | null>(o.keyTableSize ?? 6).fill(null);
    if (o.role === 'joiner') {
      const j = new Joiner({
        air: o.air, clock: o.clock, eui64: this.eui, name: 'ember-device', deviceType: o.deviceType ?? 'router',
        ...(o.installCode ? { installCode: o.installCode } : {}),
      });
      this.joiner = j;
      if (o.keyEstablishment) {
        this.seDevice = hostSeDevice(j, { credentials: simCredentials(this.eui, o.cbkeSuites ?? [1]), random: deterministicRandom('ember-emu-device-ke') });
      }
    }
  }

  private get node(): ZigbeeNode | undefined {
    return this.tc?.node ?? this.joiner?.node;
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.o.path, baudRate: 115200, autoOpen: false, lock: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('error', () => { /* the host going away is not the firmware's problem */ });
    port.on('data', (chunk: Buffer) => this.onBytes(chunk));
    this.port = port;
    this.write(this.prompt);
  }

  async close(): Promise<void> {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.seDevice?.remove();
    this.tc?.stop();
    this.joiner?.stop();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  // ---- fault injection ----------------------------------------------------------------------

  injectRaw(bytes: string): void {
    this.write(bytes);
  }

  setMute(mute: boolean): void {
    this.mute = mute;
  }

  /** The CLI gets stuck on a command starting with `prefix`: echoes it, then ignores all input for `ms`. */
  hangOn(prefix: string, ms = 800): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'hang', ms, once: true });
  }

  /** A command starting with `prefix` prints `line` (e.g. `ERR: …`, `Error: …: 0x..`) instead of running. */
  errorOn(prefix: string, line: string): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'error', text: line, once: true });
  }

  /** The device vanishes while running a command starting with `prefix`, after half a line. */
  closeOn(prefix: string, partial = 'NWK Creat'): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'close', text: partial, once: true });
  }

  /** Raw bytes before the reply of a command starting with `prefix`. */
  beforeReply(prefix: string, raw: string): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'before', text: raw, once: true });
  }

  async vanish(): Promise<void> {
    const hangup = Promise.resolve(this.o.hangup?.());
    await Promise.all([this.close(), hangup]);
  }

  // ---- the CLI ------------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.mute || this.stuck) return;
    for (const e of this.splitter.push(chunk)) {
      if (e.kind !== 'line') continue;
      const text = e.text;
      this.queue = this.queue.then(() => this.line(text)).catch(() => {});
    }
  }

  private async line(text: string): Promise<void> {
    if (!this.port || this.stuck) return;
    this.write(`${text}\r\n`);
    const cmd = text.trim().replace(/\s+/g, ' ');
    if (cmd !== '') {
      this.commands.push(cmd);
      const fault = this.faults.find((f) => f.match(cmd));
      if (fault) {
        if (fault.once) this.faults.splice(this.faults.indexOf(fault), 1);
        if (fault.kind === 'hang') {
          this.stuck = true;
          this.later(fault.ms ?? 800, () => { this.stuck = false; });
          return;
        }
        if (fault.kind === 'close') { this.write(fault.text!); void this.vanish(); return; }
        if (fault.kind === 'error') { this.print(fault.text!); this.write(this.prompt); return; }
        this.write(fault.text!);
      }
      try {
        await this.command(tokenize(cmd), cmd);
      } catch (err) {
        this.print(`Error: ${(err as Error).message}`);
      }
    }
    this.write(this.prompt);
  }

  private async command(argv: string[], cmd: string): Promise<void> {
    const [a, b, c] = argv;
    if (a === 'network' && b === 'id' && argv.length === 2) return this.networkId();
    if (a === 'version' && argv.length === 1) { this.print('EmberZNet 7.4.0.0 GA build 0 (sehil emulator)'); return; }
    if (a === 'keys' && b === 'print' && argv.length === 2) return this.keysPrint();
    if (a === 'keys' && b === 'delete' && argv.length === 3) return this.keysDelete(num(c));
    if (a === 'option' && b === 'install-code' && argv.length === 5) return this.installCode(argv[3], argv[4]);
    if (a === 'network' && b === 'pjoin' && argv.length === 3) return this.pjoin(num(c));
    if (a === 'network' && b === 'leave' && argv.length === 2) return this.leave();
    if (a === 'network' && b === 'rejoin' && argv.length === 4) return this.rejoin(num(c) !== 0, num(argv[3]));
    if (a === 'plugin' && b === 'network-creator' && c === 'form' && argv.length === 7 && this.o.role === 'tc') {
      return this.form(num(argv[4]), num(argv[6]));
    }
    if (a === 'plugin' && b === 'network-steering' && this.o.role === 'joiner') {
      if (c === 'start' && argv.length === 4) return this.steer();
      if (c === 'mask' && argv[3] === 'set' && argv.length === 6 && num(argv[4]) === 1) {
        this.steeringMask = num(argv[5]) & 0x07fff800;
        this.print(`Primary channel mask now: 0x${this.steeringMask.toString(16).toUpperCase().padStart(8, '0')}`);
        return;
      }
    }
    if (a === 'plugin' && b === 'key-establishment' && this.o.keyEstablishment) {
      if (argv.length === 2) {
        this.print('plugin key-establishment start <uint16_t> <uint8_t>');
        this.print('plugin key-establishment interpan <uint16_t> <hex>');
        if (this.o.testHarness) this.print('plugin key-establishment set-available-suite <uint16_t>');
        return;
      }
      if (c === 'start' && argv.length === 5 && this.seDevice) return this.keStart(num(argv[3]), num(argv[4]));
      if (c === 'set-available-suite' && argv.length === 4 && this.o.testHarness) return this.setAvailableSuite(num(argv[3]));
    }
    this.print(`Error: No such command: ${cmd}`);
  }

  private networkId(): void {
    const node = this.node;
    const up = this.o.role === 'tc' ? this.formed : this.joiner!.joined;
    this.print(formatNetworkId({ short: up ? node!.net.short : 0xfffe, eui64: this.eui, panId: up ? node!.net.panId : 0xffff }));
  }

  private form(panId: number, channel: number): void {
    if (this.formed || this.forming) { this.print(`NWK Creator: Form: 0x${h2(ST_INVALID_CALL)}`); return; }
    // One node for the life of the firmware: a re-formation is no reboot, so its MAC and NWK
    // sequence numbers, APS counter and frame counters go on (a fresh node, seeded from the same
    // EUI-64, would replay the last network's). Deviation: the stack TC's own list of the last
    // network's devices is kept (overwritten as they join again). The Ember TC keeps a leaving
    // device's key entry and uses it for its next join (FAQ).
    const tc = (this.tc ??= new TrustCenter({ air: this.o.air, clock: this.o.clock, eui64: this.eui, name: 'ember-tc', profile: { ...COMPLIANT_TC, freshJoinKey: 'current-key' } }));
    this.forming = true;
    this.print(`NWK Creator: Form: 0x${h2(ST_SUCCESS)}`);
    this.later(this.o.asyncDelayMs ?? 5, () => {
      void tc.form({ channel, panId }).then(async () => {
        for (const [eui, ic] of this.installCodes) await tc.addInstallCode(eui, ic);
        if (this.o.keyEstablishment) this.hostKeServer(tc);
        this.forming = false;
        this.formed = true;
      });
    });
  }

  /** The TC's KE server with the certificates of the suites it holds, restricted to the available-suite bitmap. */
  private hostKeServer(tc: TrustCenter): void {
    this.seTc?.remove();
    const held = this.o.cbkeSuites ?? [1];
    const offered = this.availableSuites === undefined ? held : held.filter((n) => this.availableSuites! & (1 << (n - 1)));
    // Deviation: a bitmap naming no suite it holds a certificate for keeps every certificate.
    this.seTc = hostSeTrustCenter(tc, { credentials: simCredentials(this.eui, offered.length ? offered : held), random: this.tcKeRandom });
  }

  /** Test harness: emAfSetAvailableCurves rewrites the KeyEstablishmentSuite attribute; prints nothing. */
  private setAvailableSuite(bitmap: number): void {
    this.availableSuites = bitmap;
    if (this.tc && this.formed && this.o.keyEstablishment) this.hostKeServer(this.tc);
  }

  private async pjoin(seconds: number): Promise<void> {
    if (!this.tc || !this.formed) { this.print(`pJoin for ${seconds} sec: 0x${h2(ST_NOT_JOINED)}`); return; }
    await this.tc.permitJoin(seconds);
    this.print(`pJoin for ${seconds} sec: 0x${h2(ST_SUCCESS)}`);
  }

  private async installCode(euiArg: string, icArg: string): Promise<void> {
    const eui = parseEui64(hexTokens(euiArg).map(h2).join(''));
    const ic = Uint8Array.from(hexTokens(icArg));
    if (![8, 10, 14, 18].includes(ic.length)) { this.print('ERR: Install Code must be 8, 10, 14, or 18 bytes in length'); return; }
    try {
      installCodeFromBytes(ic, { crc: 'present' });
    } catch {
      this.print('ERR: Calculated CRC does not match');
      return;
    }
    this.installCodes.set(eui, ic);
    if (this.tc && this.formed) await this.tc.addInstallCode(eui, ic);
    this.print('Success: Set joining link key');
  }

  /** Link key table slots follow the node's table: new partners take the first free slot. */
  private syncSlots(): void {
    const node = this.node;
    const held = new Set(node ? node.linkKeys.entries().map(([e]) => e) : []);
    if (this.joiner && node?.net.tcEui64) held.delete(node.net.tcEui64); // the TC link key has its own row
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] && !held.has(this.slots[i]!)) this.slots[i] = null;
    for (const e of held) {
      if (this.slots.includes(e)) continue;
      const free = this.slots.indexOf(null);
      if (free >= 0) this.slots[free] = e;
    }
  }

  private async keysPrint(): Promise<void> {
    const node = this.node;
    this.syncSlots();
    const active = node?.nwkSecurity.active;
    const linkKeys: KeyRow[] = [];
    this.slots.forEach((eui, index) => {
      const e = eui ? node?.linkKeys.get(eui) : undefined;
      if (!eui || !e) return;
      linkKeys.push({ index, eui64: eui, inFc: e.lastIncoming ?? 0, type: 'L', authorized: e.origin === 'cbke', key: e.material.key });
    });
    let tcLinkKey: KeyRow | undefined;
    if (this.tc) {
      tcLinkKey = { eui64: this.eui, inFc: 0, type: 'L', authorized: true, key: wellKnownTcLinkKey().key };
    } else if (this.joiner && node) {
      const tcEui = node.net.tcEui64;
      const e = node.linkKeys.resolve(tcEui);
      if (e) tcLinkKey = { eui64: tcEui ?? 'ffffffffffffffff', inFc: e.lastIncoming ?? 0, type: 'L', authorized: e.origin === 'cbke', key: e.material.key };
    }
    // The install codes given (`option install-code`), once each: a link key table entry that a
    // join under an install-code key left is in the link key table above, not here.
    const transient = this.tc
      ? [...this.installCodes].map(([eui64, ic], index) => ({ index, eui64, nwkIndex: 0, inFc: 0, ttlS: 300, flags: 0, key: deriveInstallCodeLinkKey(installCodeFromBytes(ic, { crc: 'present' })) }))
      : [];
    for (const l of formatKeysPrint({
      securityLevel: 5, nwkOutFc: node?.nvm.nwkFrameCounter ?? 0, nwkKeySeq: active?.seq ?? 0, nwkKey: active?.material.key ?? new Uint8Array(16),
      linkOutFc: node?.nvm.apsFrameCounter ?? 0, tcLinkKey, linkKeys, tableSize: this.slots.length, transient,
    })) this.print(l);
  }

  private async keysDelete(index: number): Promise<void> {
    if (index >= this.slots.length) { this.print(`ERROR: erase key ${index}: 0x${h2(ST_INDEX_OUT_OF_RANGE)}`); return; }
    this.syncSlots();
    const eui = this.slots[index];
    if (!eui) return;
    if (this.tc) await this.tc.deleteLinkKey(eui);
    else this.node?.linkKeys.delete(eui);
    this.slots[index] = null;
  }

  private steer(): void {
    const j = this.joiner!;
    if (j.joined || this.steering) { this.print(`NWK Steering: Start: 0x${h2(ST_INVALID_CALL)}`); return; }
    this.print(`NWK Steering: Start: 0x${h2(ST_SUCCESS)}`);
    this.steering = true;
    const channels = [...Array(16).keys()].map((i) => i + 11).filter((ch) => this.steeringMask & (1 << ch));
    this.later(this.o.asyncDelayMs ?? 5, () => {
      void (async () => {
        let status = 0xab; // EMBER_NO_BEACONS
        for (const channel of channels) {
          const r = await j.join({ channel, timeoutMs: 8000 });
          if (r.joined) { status = ST_SUCCESS; break; }
          if (r.emberStatus !== undefined) status = r.emberStatus;
          else if (r.code !== 'no-network') status = 0x94; // EMBER_JOIN_FAILED
        }
        this.steering = false;
        this.async(status === ST_SUCCESS ? 'NWK Steering: Join Success' : `NWK Steering: Join Failure: 0x${h2(status)}`);
      })();
    });
  }

  private leave(): void {
    if (this.o.role === 'tc') {
      const tc = this.tc;
      if (!tc || !this.formed) { this.print(`leave 0x${h2(ST_NOT_JOINED)}`); return; }
      this.print(`leave 0x${h2(ST_SUCCESS)}`);
      // Off the air at once; the next form starts a network with a new key and, as the
      // application framework does upon forming, an empty link key table.
      this.seTc?.remove();
      this.seTc = null;
      tc.dissolve();
      this.formed = false;
      return;
    }
    const j = this.joiner;
    if (!j || !j.joined) { this.print(`leave 0x${h2(j ? ST_NOT_JOINED : ST_INVALID_CALL)}`); return; }
    this.print(`leave 0x${h2(ST_SUCCESS)}`);
    this.later(this.o.asyncDelayMs ?? 5, () => { void j.leave(); });
  }

  private rejoin(secured: boolean, mask: number): void {
    const j = this.joiner;
    if (!j || !j.node.net.tcEui64) { this.print(`rejoin 0x${h2(ST_NOT_JOINED)}`); return; }
    this.print(`rejoin 0x${h2(ST_SUCCESS)}`);
    const single = mask !== 0 && (mask & (mask - 1)) === 0 ? Math.log2(mask) : undefined;
    this.later(this.o.asyncDelayMs ?? 5, () => {
      void j.rejoin({ secured, ...(single !== undefined ? { channel: single } : {}), timeoutMs: 8000 }).then((r) => {
        this.async(`Stack status: 0x${h2(r.joined ? NETWORK_UP : (r.emberStatus ?? 0x94))}`);
      });
    });
  }

  private keStart(node: number, endpoint: number): void {
    const se = this.seDevice!;
    if (!this.joiner!.joined) { this.print(`Error: Start Key Establishment: 0x${h2(ST_NOT_JOINED)}`); return; }
    this.print(`Starting Key Establishment w/ 0x${node.toString(16).toUpperCase().padStart(4, '0')}, EP: 0x${h2(endpoint)}`);
    this.later(this.o.asyncDelayMs ?? 5, () => {
      void se.startKeyEstablishment().then((o) => {
        this.async(o.ok ? 'Success: Key Establishment' : `Error: Key Establishment: 0x${h2(o.status ?? 0xff)}`);
      });
    });
  }

  // ---- output -------------------------------------------------------------------------------

  private later(ms: number, fn: () => void): void {
    const cancel = this.o.clock.setTimer(ms, () => { this.timers.delete(cancel); if (this.port) fn(); });
    this.timers.add(cancel);
  }

  /** An asynchronous print: lands after the prompt, as emberAfCorePrintln does. */
  private async(text: string): void {
    if (!this.mute) this.print(text);
  }

  private print(text: string): void {
    this.write(`${text}\r\n`);
  }

  private write(s: string): void {
    if (this.port?.isOpen) this.port.write(Buffer.from(s, 'latin1'));
  }
}

/** Splits a command line; a `{…}` HEX argument (spaces allowed inside) is one token. */
function tokenize(line: string): string[] {
  return line.match(/\{[^}]*\}|\S+/g) ?? [];
}

function num(s: string | undefined): number {
  if (s === undefined || !/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) throw new Error(`Argument syntax error: ${s ?? '(missing)'}`);
  return Number(s);
}

function hexTokens(arg: string): number[] {
  const m = /^\{([0-9a-fA-F\s]*)\}$/.exec(arg);
  const digits = m ? m[1].replace(/\s+/g, '') : '';
  if (!m || digits.length % 2 !== 0) throw new Error(`Argument syntax error: ${arg}`);
  return (digits.match(/../g) ?? []).map((h) => parseInt(h, 16));
}
