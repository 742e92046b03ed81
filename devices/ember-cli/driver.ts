// An EmberZNet / Simplicity SDK Zigbee application's CLI (radios.md §3; an EFR32 running a Z3 or
// SE sample, or a Z3Gateway host) as the rig's Trust Center or DUT. It types CLI commands over a
// serial line (or a recorded transcript), one at a time, each with a deadline, and reads the reply
// up to the prompt line that the empty line typed after each command closes (protocol.ts header).
// Transport, transcript, replay and waits are the nRF sniffer driver's; the session plumbing
// (open, transcript, one command at a time) is ../serial-session.ts, and so is the recovery
// ladder of a lost port (re-open at the same path, then the rig's power.cycle, then
// EmberCliPortClosedError naming what was tried).
//
// The EFR32's advantage over the nRF shell: `keys print` shows the real key tables, so the
// kit's keyring gets real keys from a real TC — the network key and sequence, each device's TC
// link key including the one CBKE derived (`Auth y`), the install-code keys in the transient
// table — and `keys delete <i>` edits the table (the FAQ fix for the SE rejoin-after-leave trap).
//
// Capabilities, declared honestly (some are only known after open(), which probes the build):
// - TC: install-code (`option install-code`), tclk-exchange (the Z3 TC answers Request Key),
//   key-table-edit (`keys delete`), cbke-v1 when the build lists `plugin key-establishment`.
//   Not cbke-v2: the CLI shows no way to tell whether a sect283k1 certificate is installed.
//   The suite the KE server offers is set with the test-harness component's `plugin
//   key-establishment set-available-suite` when the build lists it (offerKeyEstablishmentSuites).
// - DUT: install-code when the rig gives one (programmed in the mfg tokens, not typed here),
//   leave (`network leave`), rejoin-secured / rejoin-tc (`network rejoin 1|0 <mask>`),
//   tclk-exchange on a Z3 build, cbke-v1 + cbke-dynamic on an SE build (`plugin
//   key-establishment start 0x0000 1` any time after joining).
// Not done (no CLI behind them here): choosing the network key or the extended PAN ID at
// formation (the stack picks; networkKey() reads the real one), the TC's own KE results and
// suite offer, keep-alive, leave-with-rejoin.
import { powerCycleCommand } from '../../harness/rig/schema.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import {
  DeviceTimeoutError, RigUnavailableError, type DeviceInfo, type JoinOptions, type JoinResult, type Joiner,
  type KeyEstablishmentResult, type CbkeSuite, type NetworkParams, type RejoinOptions, type TrustCenter,
} from '../../harness/rig/roles.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { keStatusName } from '../../harness/crypto/cbke-suites.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';
import { ReplyWaiters, withDeadline } from '../nrf-sniffer/waits.ts';
import { CliDriverBase, CliPortClosedError, type CliDriverOptions } from '../cli-driver.ts';
import { commandLine } from '../serial-session.ts';
import {
  classifyLine, EmberCliParseError, EmberCommand, hasKeSetAvailableSuite, hasKeyEstablishment, parseKeysPrint, parseNetworkId,
  parseStatusReply, promptOf, REPLY, type KeysPrint, type NetworkId,
} from './protocol.ts';

export const DRIVER_NAME = 'ember-cli';

/** The CLI printed `Error: …`, `ERR: …` or `ERROR: …` for a command, or a non-zero status. Carries its words. */
export class EmberCliCommandError extends Error {
  override name = 'EmberCliCommandError';
  constructor(
    readonly role: string, readonly step: string, readonly command: string,
    /** The CLI's line as printed (marker included). */
    readonly cliText: string,
    /** The EmberStatus byte when the line carried one. */
    readonly status?: number,
  ) {
    super(`${role}: ${step}: "${command}" failed: ${cliText}${hint(cliText, status)}`);
  }
}

function hint(text: string, status?: number): string {
  if (/No such command/i.test(text)) return ' (is this an EmberZNet Z3/SE application with this plugin in its build?)';
  if (/CRC does not match/i.test(text)) return ' (the install code\'s last two bytes must be its CRC-16/X-25, little-endian: `sehil ic derive CODE`)';
  if (/Form/i.test(text) && status === 0x70) return ' (already on a network: `network leave` or `factory-reset` the device first)';
  if (status === 0x93) return ' (EMBER_NOT_JOINED: the device is on no network)';
  return '';
}

/** The operation has no CLI command behind it. */
export class EmberCliUnsupportedError extends Error {
  override name = 'EmberCliUnsupportedError';
  constructor(readonly role: string, readonly operation: string, reason: string) {
    super(`${role}: ${operation} is not supported by the EmberZNet CLI driver: ${reason}`);
  }
}

/** The port went away while a command was waiting for its reply. */
export class EmberCliPortClosedError extends CliPortClosedError {
  override name = 'EmberCliPortClosedError';
}

export interface EmberCliOptions extends CliDriverOptions {
  /** Deadline of a Key Establishment exchange, ms (default 60000). */
  keTimeoutMs?: number;
  /** Poll interval of `network id` while waiting for a network change, ms (default 100). */
  pollMs?: number;
}

export interface EmberCliStats {
  commands: number;
  garbageLines: number;
  overlongLines: number;
  nulBytes: number;
  /** Lines with no command waiting (asynchronous prints nobody awaited, late answers). */
  strayLines: number;
  timeouts: number;
}

/** The command engine shared by both roles. */
export abstract class EmberCliDriver extends CliDriverBase {
  readonly stats: EmberCliStats = { commands: 0, garbageLines: 0, overlongLines: 0, nulBytes: 0, strayLines: 0, timeouts: 0 };
  protected readonly o: Required<Omit<EmberCliOptions, 'recordTo' | 'source' | 'reopen' | 'powerCycle'>> & Pick<EmberCliOptions, 'recordTo'>;
  protected readonly timers: Clock;
  /** Asynchronous prints someone awaits (steering, rejoin and KE outcomes). */
  protected readonly waiters: ReplyWaiters;
  private euiValue: Eui64 | undefined;
  private firmware: string | undefined;
  /** The CLI's prompt, learned at open ('' until then). */
  protected prompt = '';
  private promptSeen: (() => void) | null = null;
  /** Whether the build has the Key Establishment plugin (known after open). */
  protected keBuild = false;
  /** Whether the key-establishment group lists the test harness's `set-available-suite` (known after open). */
  protected keSuiteSelectable = false;
  private readonly caps = new Set<Capability>();

  constructor(opts: EmberCliOptions) {
    super();
    this.o = {
      port: opts.port, baudRate: opts.baudRate ?? 115200, clock: opts.clock, timers: opts.timers ?? new RealClock(),
      replyTimeoutMs: opts.replyTimeoutMs ?? 3000, formTimeoutMs: opts.formTimeoutMs ?? 15_000, joinTimeoutMs: opts.joinTimeoutMs ?? 60_000,
      keTimeoutMs: opts.keTimeoutMs ?? 60_000, pollMs: opts.pollMs ?? 100, quietMs: opts.quietMs ?? 50, maxLine: opts.maxLine ?? 512,
      recordTo: opts.recordTo,
    };
    this.timers = this.o.timers;
    this.waiters = new ReplyWaiters(this.timers);
    const cl = commandLine({
      ...this.o, role: () => this.role, driver: DRIVER_NAME, stats: this.stats, source: opts.source,
      recovery: { reopen: opts.reopen, powerCycle: opts.powerCycle },
      // After a re-open on the recovery ladder: an empty line gives back the prompt; let it pass.
      reopened: async (step) => { await this.session.write(EmberCommand.newline, step); await this.session.quiet(step); },
      onLine: (text) => this.onLine(text),
      onPortLost: (e) => this.waiters.failAll(e),
      // The empty line closes the command's prompt: the reply ends at the prompt line it gives back.
      send: async (command, step) => { await this.session.write(command, step); await this.session.write(EmberCommand.newline, step); },
      // An abandoned command may still answer (or the CLI is still stuck): let that pass first.
      resync: async (step) => { await this.session.write(EmberCommand.newline, step); await this.session.quiet(step); },
      awaited: (command) => `prompt after "${command}"`,
      check: (p) => { if (p.errors.length > 0) throw new EmberCliCommandError(this.role, p.step, p.command, p.errors[0].text, p.errors[0].status); },
      portClosed: (p, reason) => new EmberCliPortClosedError(this.role, this.o.port, p.step, p.command, reason),
    });
    this.session = cl.session;
    this.commands = cl.commands;
  }

  get capabilities(): ReadonlySet<Capability> {
    return this.caps;
  }

  protected declare(caps: readonly Capability[]): void {
    this.caps.clear();
    for (const c of caps) this.caps.add(c);
  }

  get eui64(): Eui64 {
    if (this.euiValue === undefined) throw new Error(`${this.role} (${this.o.port}): EUI-64 unknown until open() has read it with "network id"`);
    return this.euiValue;
  }

  /** Opens the port, learns the prompt (the line an empty input gives back), reads the EUI-64, probes the build. */
  async open(): Promise<void> {
    if (this.session.isOpen) return;
    // Lost underneath (not closed by the harness): the recovery ladder, not a fresh open.
    if (this.session.lostReason !== null) { await this.commands.recover('open'); return; }
    await this.session.open();
    const seen = new Promise<void>((resolve) => { this.promptSeen = resolve; });
    // Two empty lines: the first closes whatever prompt was printed before we listened (or
    // nothing, if its bytes were lost), the second surely gives back a whole prompt line.
    await this.session.write(EmberCommand.newline, 'open');
    await this.session.write(EmberCommand.newline, 'open');
    await withDeadline(seen, this.o.replyTimeoutMs, this.timers, () => {
      this.stats.timeouts++;
      return new DeviceTimeoutError(this.role, 'open', `prompt line in answer to an empty line from ${this.o.port} (is an EmberZNet CLI application running at ${this.o.baudRate} baud?)`, this.o.replyTimeoutMs);
    }).finally(() => { this.promptSeen = null; });
    await this.session.quiet('open');
    this.euiValue = parseNetworkId(await this.run(EmberCommand.networkId, 'open')).eui64;
    const keGroup = await this.runTolerating(EmberCommand.keGroup, 'open', /No such command/i) ?? [];
    this.keBuild = hasKeyEstablishment(keGroup);
    this.keSuiteSelectable = this.keBuild && hasKeSetAvailableSuite(keGroup);
    await this.afterOpen();
  }

  protected async afterOpen(): Promise<void> {}

  async probe(): Promise<DeviceInfo> {
    await this.open();
    if (this.firmware === undefined) {
      this.firmware = (await this.runTolerating(EmberCommand.version, 'probe', /./))?.join('; ') ?? '("version" refused)';
    }
    return {
      driver: DRIVER_NAME, location: this.o.port, firmware: this.firmware, eui64: this.eui64,
      notes: [`plays ${this.role}`, `prompt "${this.prompt}"`, this.keBuild ? 'Key Establishment plugin present' : 'no Key Establishment plugin', ...this.session.notes],
    };
  }

  protected refusal(e: unknown): { match: string; shown: string } | undefined {
    return e instanceof EmberCliCommandError ? { match: e.cliText, shown: e.cliText } : undefined;
  }

  protected closedError(): RigUnavailableError {
    return new RigUnavailableError(this.role, this.o.port, 'closed by the harness');
  }

  // ---- the conversation ---------------------------------------------------------------------
  // run() (CliDriverBase) sends one command and the empty line that closes its prompt, and
  // resolves with its output lines (echo and prompts removed) at the prompt line; it rejects with
  // EmberCliCommandError when the reply carried `Error:`/`ERR:`/`ERROR:`, DeviceTimeoutError
  // after `timeoutMs`, EmberCliPortClosedError when the port goes away. Commands queue up.

  /** run() for a command whose reply is one `<label> 0x<hh>` status line; non-zero → EmberCliCommandError. */
  protected async runStatus(command: string, step: string, label: RegExp, ok: readonly number[] = [0]): Promise<number> {
    const lines = await this.run(command, step);
    const status = parseStatusReply(command, lines, label);
    if (!ok.includes(status)) {
      throw new EmberCliCommandError(this.role, step, command, lines.find((l) => label.test(l.trim()))?.trim() ?? '', status);
    }
    return status;
  }

  protected async networkId(step: string): Promise<NetworkId> {
    return parseNetworkId(await this.run(EmberCommand.networkId, step));
  }

  /** Asks `network id` until `ok` holds or `deadlineAt` passes; the last answer either way. */
  protected async pollNetwork(step: string, deadlineAt: number, ok: (n: NetworkId) => boolean): Promise<{ ok: boolean; last: NetworkId }> {
    for (;;) {
      const last = await this.networkId(step);
      if (ok(last)) return { ok: true, last };
      const left = deadlineAt - this.timers.now();
      if (left <= 0) return { ok: false, last };
      await this.timers.sleep(Math.min(this.o.pollMs, left));
    }
  }

  /** `keys print`, parsed; keys hidden by the mfg token are an error that says so. */
  async keysPrint(step = 'keys print'): Promise<KeysPrint> {
    await this.open();
    const k = parseKeysPrint(await this.run(EmberCommand.keysPrint, step));
    if (k.readingDisabled) {
      throw new EmberCliUnsupportedError(this.role, step, 'the device prints "READING OF KEY VALUES DISABLED BY MFG TOKEN": key values cannot be read (program TOKEN_MFG_SECURITY_CONFIG to allow it, Simplicity Commander)');
    }
    return k;
  }

  /** Registers a waiter for an asynchronous print before the command that causes it is sent. */
  protected expectAsync(re: RegExp, ms: number, step: string, what: string) {
    return this.waiters.expect((l) => re.test(l), ms, () => new DeviceTimeoutError(this.role, step, what, ms));
  }

  // ---- what comes in ------------------------------------------------------------------------

  private onLine(raw: string): void {
    if (this.promptSeen) {
      const learned = promptOf(raw);
      if (learned !== undefined) {
        this.prompt = learned;
        this.promptSeen();
        this.promptSeen = null;
      }
      return;
    }
    const l = classifyLine(raw, this.prompt);
    const p = this.commands.pending;
    if (l.kind === 'garbage') {
      this.stats.garbageLines++;
      this.note(`garbage line ignored (${raw.length} bytes)`);
      return;
    }
    if ('skippedPrefix' in l && l.skippedPrefix !== undefined) {
      this.stats.garbageLines++;
      this.note(`noise before a ${l.kind} line ignored`);
    }
    if (l.kind === 'blank') return;
    if (l.kind === 'prompt') {
      if (!p) return; // the prompt of a re-synchronisation or of an abandoned command
      this.commands.complete();
      return;
    }
    const text = l.kind === 'text' ? l.text : l.kind === 'success' ? `Success: ${l.task}` : `${l.marker}: ${l.text}`;
    if (this.waiters.offer(text)) return;
    if (p && !p.echoSeen && l.kind === 'text' && text === p.command) { p.echoSeen = true; return; }
    if (!p) { this.stats.strayLines++; this.onAsync(text); return; }
    p.lines.push(text);
    if (l.kind === 'error') p.errors.push({ text, status: l.status });
  }

  /** Asynchronous prints nobody awaited (the roles note what matters). */
  protected onAsync(text: string): void {
    this.note(`asynchronous: ${text}`);
  }

  /** Steering, rejoin and KE outcomes someone awaits fail with the commands. */
  protected override failWaiting(e: Error): void {
    super.failWaiting(e);
    this.waiters.failAll(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Trust Center

export type EmberKeyKind = 'install-code' | 'cbke' | 'link';

export class EmberCliTrustCenter extends EmberCliDriver implements TrustCenter {
  readonly role = 'tc' as const;
  private icIndex = 0;

  constructor(opts: EmberCliOptions) {
    super(opts);
    this.declare(['install-code', 'tclk-exchange', 'key-table-edit']);
  }

  protected override async afterOpen(): Promise<void> {
    this.declare(['install-code', 'tclk-exchange', 'key-table-edit', ...(this.keBuild ? ['cbke-v1' as const] : [])]);
  }

  /**
   * `plugin network-creator form 1 <panId> 3 <channel>`, then `network id` until the short
   * address is 0x0000. The stack picks the network key and the extended PAN ID (networkKey()
   * reads the key it picked from `keys print`).
   */
  async form(net: NetworkParams): Promise<void> {
    await this.open();
    if (net.networkKey) this.note('form: networkKey not applied (the CLI forms with a key the stack picks); networkKey() reads the real one from "keys print"');
    if (net.extendedPanId) this.note('form: extendedPanId not applied (network-creator picks it)');
    // A rig's TC stays up across tests: leave the network it runs, so each form() starts a fresh
    // network (the application framework clears the link key table upon forming), not one
    // holding the keys of devices an earlier test let join.
    const now = await this.networkId('form');
    if (now.short !== 0xfffe) {
      this.note(`form: the coordinator already runs a network (PAN ID 0x${now.panId.toString(16).padStart(4, '0')}): "network leave" first, then a fresh formation`);
      await this.runStatus(EmberCommand.leave, 'form', REPLY.leave, [0x00, 0x93]);
      const off = await this.pollNetwork('form', this.timers.now() + this.o.replyTimeoutMs, (n) => n.short === 0xfffe);
      if (!off.ok) throw new DeviceTimeoutError('tc', 'form', '"network id" to show no network after "network leave"', this.o.replyTimeoutMs);
    }
    await this.runStatus(EmberCommand.form({ panId: net.panId, channel: net.channel }), 'form', REPLY.form);
    const r = await this.pollNetwork('form', this.timers.now() + this.o.formTimeoutMs, (n) => n.short !== 0xfffe);
    if (!r.ok) throw new DeviceTimeoutError('tc', 'form', `network formation ("network id" kept answering short 0x${r.last.short.toString(16)})`, this.o.formTimeoutMs);
    if (r.last.short !== 0) throw new RigUnavailableError('tc', this.o.port, `form: the device reports short address 0x${r.last.short.toString(16)}, expected 0x0000 (a router build, not a coordinator?)`);
    if (r.last.panId !== net.panId) this.note(`form: PAN ID is 0x${r.last.panId.toString(16)}, asked 0x${net.panId.toString(16)}`);
  }

  /** `network pjoin <s>` (0 closes; more than 254 s is capped: 255 means "forever"). */
  async permitJoin(seconds: number): Promise<void> {
    const s = Math.min(Math.max(0, Math.floor(seconds)), 254);
    if (s !== seconds) this.note(`permitJoin(${seconds}): sent ${s}`);
    await this.runStatus(EmberCommand.pjoin(s), 'permit join', REPLY.pjoin);
  }

  /** `option install-code <i> {eui64} {code+crc}` → `Success: Set joining link key`. */
  async addInstallCode(eui64: Eui64, installCode: string): Promise<void> {
    const cmd = EmberCommand.installCode(this.icIndex, eui64, installCode);
    const lines = await this.run(cmd, 'add install code');
    if (!lines.some((l) => /^Success: Set joining link key$/.test(l))) {
      throw new EmberCliParseError(cmd, lines, 'no "Success: Set joining link key"');
    }
    this.icIndex = (this.icIndex + 1) % 256;
  }

  /**
   * The TC's key table from `keys print`: install-code keys (transient table), then the link
   * key table (kind 'cbke' for an authorized, CBKE-established key, else 'link').
   */
  async keyTable(): Promise<{ eui64: Eui64; key: Uint8Array; kind: EmberKeyKind }[]> {
    const k = await this.keysPrint('key table');
    return [
      ...k.transient.map((t) => ({ eui64: t.eui64, key: t.key, kind: 'install-code' as const })),
      ...k.linkKeys.map((r) => ({ eui64: r.eui64, key: r.key, kind: r.authorized ? 'cbke' as const : 'link' as const })),
    ];
  }

  /**
   * The suites the KE server offers (its KeyEstablishmentSuite attribute). Only suite 1 is
   * declared (cbke-v1), so only [1] is accepted. With the test-harness component in the build
   * (`set-available-suite` in the key-establishment group) the attribute is set to 0x0001;
   * without it the CLI cannot change what the server offers — the certificates the TC holds decide
   * (suite 1 alone when it has only a sect163k1 certificate), noted in the transcript; the
   * Initiate Response on the air shows which suite the TC took either way.
   */
  async offerKeyEstablishmentSuites(suites: readonly CbkeSuite[]): Promise<void> {
    await this.open();
    const what = `offer CBKE suites [${suites.join(', ')}]`;
    if (!this.keBuild) throw new EmberCliUnsupportedError('tc', what, 'this build has no Key Establishment plugin');
    if (suites.length === 0) throw new RangeError('tc: offer at least one CBKE suite');
    if (suites.some((x) => x !== 1)) {
      throw new EmberCliUnsupportedError('tc', what, 'only suite 1 (sect163k1) is declared: the CLI shows no way to tell whether a sect283k1 certificate is installed');
    }
    if (!this.keSuiteSelectable) {
      this.note(`${what}: no "plugin key-establishment set-available-suite" in this build (test-harness component): the TC offers the suites of the certificates it holds (suite 1 alone with only a sect163k1 certificate)`);
      return;
    }
    await this.run(EmberCommand.keSetAvailableSuite(0x0001), what);
  }

  /** The network key and its sequence number as `keys print` shows them. */
  async networkKey(): Promise<{ key: Uint8Array; seq: number }> {
    const k = await this.keysPrint('network key');
    // Off a network the stack prints an all-zero key: that is no key (the run's key files and
    // trace must not carry it as the network key).
    if (k.nwkKey.every((b) => b === 0)) throw new RigUnavailableError('tc', this.o.port, 'network key: "keys print" shows no network key (not on a network yet)');
    return { key: k.nwkKey, seq: k.nwkKeySeq };
  }

  /**
   * `keys delete <i>` for every link-key-table row of the device (the install code stays: a
   * fresh join uses it again), then `keys print` to check the row is gone.
   */
  async deleteLinkKey(eui64: Eui64): Promise<void> {
    const eui = parseEui64(eui64);
    const rows = (await this.keysPrint('delete link key')).linkKeys.filter((r) => r.eui64 === eui);
    if (rows.length === 0) { this.note(`delete link key: no link key table entry for ${eui}`); return; }
    for (const r of rows) await this.run(EmberCommand.keysDelete(r.index!), 'delete link key');
    const left = (await this.keysPrint('delete link key')).linkKeys.filter((r) => r.eui64 === eui);
    if (left.length > 0) {
      throw new EmberCliCommandError('tc', 'delete link key', EmberCommand.keysDelete(left[0].index!), `the entry for ${eui} is still in "keys print" (index ${left[0].index})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Joiner (DUT)

export interface EmberCliJoinerOptions extends EmberCliOptions {
  /** The install code in the device's tokens (the rig's identity): declares install-code. */
  installCode?: string;
  /** Expected EUI-64 (the rig's identity): a different `network id` EUI-64 is an error. */
  expectEui64?: Eui64;
}

const EMBER_STATUS: Record<number, string> = {
  0xad: 'EMBER_NO_NETWORK_KEY_RECEIVED', 0x94: 'EMBER_JOIN_FAILED', 0xab: 'EMBER_NO_BEACONS', 0xaf: 'EMBER_PRECONFIGURED_KEY_REQUIRED (the TC used another key than this device\'s preconfigured one: a stale key-table entry at the TC? see ember-se-rejoin-after-leave-faq)',
  0x90: 'EMBER_NETWORK_UP', 0x91: 'EMBER_NETWORK_DOWN', 0x93: 'EMBER_NOT_JOINED',
};
const statusText = (s: number) => `0x${s.toString(16).padStart(2, '0')}${EMBER_STATUS[s] ? ` ${EMBER_STATUS[s]}` : ''}`;

export class EmberCliJoiner extends EmberCliDriver implements Joiner {
  readonly role = 'dut' as const;
  private readonly installCode: string | undefined;
  private readonly expectEui64: Eui64 | undefined;

  constructor(opts: EmberCliJoinerOptions) {
    super(opts);
    this.installCode = opts.installCode;
    this.expectEui64 = opts.expectEui64 === undefined ? undefined : parseEui64(opts.expectEui64);
    this.declare(this.baseCaps());
  }

  private baseCaps(): Capability[] {
    return [...(this.installCode !== undefined ? ['install-code' as const] : []), 'leave', 'rejoin-secured', 'rejoin-tc'];
  }

  protected override async afterOpen(): Promise<void> {
    if (this.expectEui64 !== undefined && this.expectEui64 !== this.eui64) {
      throw new RigUnavailableError('dut', this.o.port, `"network id" reports EUI-64 ${this.eui64}, the rig file's roles.dut.identity.eui64 says ${this.expectEui64}: wrong device, or fix the rig file`);
    }
    this.declare([...this.baseCaps(), ...(this.keBuild ? ['cbke-v1' as const, 'cbke-dynamic' as const] : ['tclk-exchange' as const])]);
  }

  /** Off the network (`network leave` when on one): factory-new as far as the CLI can make it. */
  async reset(): Promise<void> {
    await this.open();
    if ((await this.networkId('reset')).short !== 0xfffe) await this.leave();
  }

  /**
   * `plugin network-steering mask set 1 <channel>` (when a channel is given), `plugin
   * network-steering start 0`, then the steering outcome; with `keyEstablishment: 'on-join'`,
   * CBKE with the TC right after. Verify on hardware: an SE build with the Smart Energy
   * Registration plugin starts Key Establishment by itself after joining; then 'deferred' is not
   * what the device does (the air shows it), and the typed `start` may meet an exchange already running.
   */
  async join(opts: JoinOptions = {}): Promise<JoinResult> {
    await this.open();
    const ms = opts.timeoutMs ?? this.o.joinTimeoutMs;
    const now = await this.networkId('join');
    if (now.short !== 0xfffe) return { joined: false, reason: `already on a network (short 0x${now.short.toString(16).padStart(4, '0')}): leave or reset first` };
    if (opts.keyEstablishment && !this.keBuild) return { joined: false, reason: 'Smart Energy join asked, but this build has no Key Establishment plugin' };
    if (opts.channel !== undefined) await this.run(EmberCommand.steeringMask(opts.channel), 'join');
    if (opts.panId !== undefined) this.note(`join: PAN ID 0x${opts.panId.toString(16)} not applied (steering joins any open network on the mask)`);
    const outcome = this.expectAsync(REPLY.steeringResult, ms, 'join', 'network steering outcome');
    try {
      await this.runStatus(EmberCommand.steeringStart, 'join', REPLY.steering);
    } catch (e) {
      outcome.cancel();
      throw e;
    }
    let line: string;
    try {
      line = await outcome.promise;
    } catch (e) {
      if (e instanceof DeviceTimeoutError) return { joined: false, reason: `no steering outcome within ${ms} ms` };
      throw e;
    }
    const m = REPLY.steeringResult.exec(line)!;
    if (m[2] !== undefined) return { joined: false, reason: `${line} (${statusText(parseInt(m[2], 16))})` };
    const id = await this.networkId('join');
    if (id.short === 0xfffe) return { joined: false, reason: 'steering reported success, but "network id" shows no network' };
    const result: JoinResult = { joined: true, shortAddress: id.short };
    if (opts.keyEstablishment === 'on-join') result.keyEstablishment = await this.startKeyEstablishment();
    return result;
  }

  /** `network leave`, then `network id` until the device is off the network. */
  async leave(opts: { rejoin?: boolean } = {}): Promise<void> {
    if (opts.rejoin) throw new EmberCliUnsupportedError('dut', 'leave({ rejoin: true })', '"network leave" has no rejoin flag');
    await this.open();
    const st = await this.runStatus(EmberCommand.leave, 'leave', REPLY.leave, [0x00, 0x93]);
    if (st === 0x93) { this.note('leave: not on a network'); return; }
    const r = await this.pollNetwork('leave', this.timers.now() + this.o.replyTimeoutMs, (n) => n.short === 0xfffe);
    if (!r.ok) throw new DeviceTimeoutError('dut', 'leave', '"network id" to show no network after "network leave"', this.o.replyTimeoutMs);
  }

  /** `network rejoin 1|0 <mask>` (secured / Trust Center rejoin), then the stack status it ends with. */
  async rejoin(opts: RejoinOptions): Promise<JoinResult> {
    await this.open();
    const ms = opts.timeoutMs ?? this.o.joinTimeoutMs;
    const outcome = this.expectAsync(REPLY.stackStatus, ms, 'rejoin', 'stack status after the rejoin');
    try {
      await this.runStatus(EmberCommand.rejoin(opts.secured, opts.channel), 'rejoin', REPLY.rejoin);
    } catch (e) {
      outcome.cancel();
      if (e instanceof EmberCliCommandError && e.status !== undefined) return { joined: false, reason: e.cliText + hint(e.cliText, e.status) };
      throw e;
    }
    let line: string;
    try {
      line = await outcome.promise;
    } catch (e) {
      if (e instanceof DeviceTimeoutError) return { joined: false, reason: `no stack status within ${ms} ms after the rejoin` };
      throw e;
    }
    const st = parseInt(REPLY.stackStatus.exec(line)![1], 16);
    if (st !== 0x90) return { joined: false, reason: `${line} (${statusText(st)})` };
    const id = await this.networkId('rejoin');
    return id.short === 0xfffe ? { joined: false, reason: 'network up reported, but "network id" shows no network' } : { joined: true, shortAddress: id.short };
  }

  /**
   * `plugin key-establishment start 0x0000 1` (the TC, SE endpoint 1), then the outcome line.
   * Never rejects for a protocol failure; a CLI refusal or a timeout is an ok:false result.
   */
  async startKeyEstablishment(opts: { suite?: CbkeSuite } = {}): Promise<KeyEstablishmentResult> {
    await this.open();
    if (!this.keBuild) return { ok: false, terminate: 'none', reason: 'this build has no Key Establishment plugin' };
    if (opts.suite === 2) return { ok: false, terminate: 'none', reason: 'suite 2 (sect283k1) cannot be chosen from the CLI; only suite 1 is declared' };
    const outcome = this.expectAsync(REPLY.keResult, this.o.keTimeoutMs, 'key establishment', 'Key Establishment outcome');
    try {
      const lines = await this.run(EmberCommand.keStart(0x0000, 1), 'key establishment');
      if (!lines.some((l) => REPLY.keStart.test(l))) throw new EmberCliParseError(EmberCommand.keStart(0x0000, 1), lines, 'no "Starting Key Establishment w/ …" line');
    } catch (e) {
      outcome.cancel();
      if (e instanceof EmberCliCommandError) return { ok: false, terminate: 'none', reason: e.cliText };
      throw e;
    }
    let line: string;
    try {
      line = await outcome.promise;
    } catch (e) {
      if (e instanceof DeviceTimeoutError) return { ok: false, terminate: 'none', reason: `timeout: ${e.message}` };
      throw e;
    }
    const m = REPLY.keResult.exec(line)!;
    if (/^Success$/i.test(m[1])) return { ok: true, suite: 1, terminate: 'none' };
    const status = m[2] !== undefined ? parseInt(m[2], 16) : undefined;
    return {
      ok: false, reason: line,
      ...(status !== undefined && status !== 0xff ? { status, statusName: keStatusName(status) } : {}),
    };
  }
}

/** The driver for a rig's `ember-cli` role. */
export function emberCliFromRig(
  role: 'tc' | 'dut',
  config: { port: string; baud: number; powerCycle?: string },
  identity: { eui64: Eui64; installCode?: string } | undefined,
  clock: Clock,
  rig: { power?: { cycle: string } } = {},
): EmberCliTrustCenter | EmberCliJoiner {
  // The role's powerCycle, else the rig's power.cycle, is the recovery ladder's last step (../serial-session.ts).
  const cycle = powerCycleCommand(config, rig);
  const base = { port: config.port, baudRate: config.baud, clock, ...(cycle ? { powerCycle: { command: cycle } } : {}) };
  if (role === 'tc') return new EmberCliTrustCenter(base);
  return new EmberCliJoiner({ ...base, expectEui64: identity?.eui64, installCode: identity?.installCode });
}

