// The nRF Connect SDK Zigbee shell (radios.md §2) as the rig's Trust Center or DUT. It types shell
// commands over a serial line (or a recorded transcript), one at a time, each with a deadline,
// and reads the reply up to `Done` or `Error: …`. Transport, transcript and waits are the nRF
// sniffer driver's (same Zephyr shell on the same dongle family); the session plumbing (open,
// transcript, one command at a time) is ../serial-session.ts, and so is the recovery ladder of a
// lost port (re-open at the same path, then the rig's power.cycle, then ShellPortClosedError
// naming what was tried; a power-cycled shell gets echo and colours off again).
//
// What the shell can and cannot do decides the capabilities, declared honestly:
// - TC (`bdb role zc`): install codes (`bdb ic add`, `bdb ic policy`), the Zigbee 3.0 TC link key
//   exchange (ZBOSS answers Request Key itself), legacy joiners (`bdb legacy enable`). No CBKE
//   (ZBOSS shell has no key establishment), no link-key deletion, no way to print link keys or
//   the network key: keyTable() lists the install-code keys derived from `bdb ic list`, and
//   networkKey() returns the key this driver configured with `bdb nwkkey` before `bdb start`.
//   permitJoin(s) is `bdb start` (BDB network steering: the firmware opens for
//   bdbcMinCommissioningTime, 180 s, whatever `s` is); closing (0) is not possible.
// - DUT (`bdb role zr|zed`): install code (`bdb ic set`, before the first `bdb start`), the TC
//   link key exchange and joining legacy TCs (ZBOSS does both on its own), leave (`zdo
//   mgmt_leave <own short>`). No rejoin command (only leave-with-rejoin), no CBKE.
// Join and formation are asynchronous in the firmware: `bdb start` answers at once; the driver
// then polls `zdo short` ("Check if device was commissioned" until the device is on a network).
import { powerCycleCommand } from '../../harness/rig/schema.ts';
import { randomBytes } from 'node:crypto';
import { deriveInstallCodeLinkKey, parseInstallCode } from '../../harness/crypto/install-code.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import {
  DeviceTimeoutError, RigUnavailableError, type DeviceInfo, type JoinOptions, type JoinResult, type Joiner,
  type NetworkParams, type RejoinOptions, type TrustCenter,
} from '../../harness/rig/roles.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';
import { CliDriverBase, CliPortClosedError, type CliDriverOptions } from '../cli-driver.ts';
import { commandLine } from '../serial-session.ts';
import {
  classifyLine, parseEui64Reply, parseIcList, parseShortReply, ShellCommand, type ShellRole,
} from './protocol.ts';

export const DRIVER_NAME = 'nrf-zigbee-shell';

/** The shell answered `Error: …` (or Zephyr refused the line). Carries the shell's own words. */
export class ShellCommandError extends Error {
  override name = 'ShellCommandError';
  constructor(
    readonly role: string, readonly step: string, readonly command: string,
    /** The text after "Error: " (or Zephyr's whole message when `kind` is 'shell'). */
    readonly shellText: string,
    readonly kind: 'error' | 'shell' = 'error',
  ) {
    super(`${role}: ${step}: "${command}" failed: ${kind === 'error' ? 'Error: ' : ''}${shellText}${hint(shellText)}`);
  }
}

function hint(text: string): string {
  if (/Stack already started/i.test(text)) return ' (the firmware was started before; power-cycle the dongle or flash it with NVRAM erased to configure it again)';
  if (/command not found/i.test(text)) return ' (is this the NCS Zigbee shell sample? a sniffer or NCP image answers differently)';
  if (/Role unsupported/i.test(text)) return ' (an end-device build plays zed only, a router build zc or zr)';
  return '';
}

/** The operation has no shell command behind it. */
export class ShellUnsupportedError extends Error {
  override name = 'ShellUnsupportedError';
  constructor(readonly role: string, readonly operation: string, reason: string) {
    super(`${role}: ${operation} is not supported by the nRF Zigbee shell: ${reason}`);
  }
}

/** The port went away while a command was waiting for its reply. */
export class ShellPortClosedError extends CliPortClosedError {
  override name = 'ShellPortClosedError';
}

export interface NrfZigbeeShellOptions extends CliDriverOptions {
  /** How often `zdo short` is asked while waiting for a network, ms (default 250). */
  pollMs?: number;
}

export interface ShellStats {
  commands: number;
  /** Lines with bytes the firmware never prints, and noise glued before a reply. */
  garbageLines: number;
  overlongLines: number;
  nulBytes: number;
  logLines: number;
  /** `Done`/`Error:`/output with no command waiting (late answers of abandoned commands, noise). */
  strayLines: number;
  timeouts: number;
}

/** The command engine shared by both roles: one command at a time, each with a deadline. */
export abstract class NrfZigbeeShellDriver extends CliDriverBase {
  readonly stats: ShellStats = { commands: 0, garbageLines: 0, overlongLines: 0, nulBytes: 0, logLines: 0, strayLines: 0, timeouts: 0 };
  protected readonly o: Required<Omit<NrfZigbeeShellOptions, 'recordTo' | 'source' | 'reopen' | 'powerCycle'>> & Pick<NrfZigbeeShellOptions, 'recordTo'>;
  protected readonly timers: Clock;
  private recentTx: string[] = [];
  private euiValue: Eui64 | undefined;
  private firmware: string | undefined;

  constructor(opts: NrfZigbeeShellOptions) {
    super();
    this.o = {
      port: opts.port, baudRate: opts.baudRate ?? 115200, clock: opts.clock, timers: opts.timers ?? new RealClock(),
      replyTimeoutMs: opts.replyTimeoutMs ?? 3000, formTimeoutMs: opts.formTimeoutMs ?? 15_000,
      joinTimeoutMs: opts.joinTimeoutMs ?? 60_000, pollMs: opts.pollMs ?? 250, quietMs: opts.quietMs ?? 50,
      maxLine: opts.maxLine ?? 512, recordTo: opts.recordTo,
    };
    this.timers = this.o.timers;
    const cl = commandLine({
      ...this.o, role: () => this.role, driver: DRIVER_NAME, stats: this.stats, source: opts.source,
      recovery: { reopen: opts.reopen, powerCycle: opts.powerCycle },
      // After a re-open on the recovery ladder (a power-cycled shell echoes and colours again).
      reopened: async (step) => { await this.write(ShellCommand.newline, step); await this.write(ShellCommand.echoOff, step); await this.write(ShellCommand.colorsOff, step); await this.session.quiet(step); },
      onLine: (text) => this.onLine(text),
      send: (command, step) => this.write(command, step),
      // An abandoned command may still answer: let that pass before asking anything new.
      resync: (step) => this.session.quiet(step),
      awaited: (command) => `"Done" or "Error:" after "${command}"`,
      portClosed: (p, reason) => new ShellPortClosedError(this.role, this.o.port, p.step, p.command, reason),
    });
    this.session = cl.session;
    this.commands = cl.commands;
  }

  abstract readonly capabilities: ReadonlySet<Capability>;

  /** The device's EUI-64 as `zdo eui64` printed it (known once open() resolved). */
  get eui64(): Eui64 {
    if (this.euiValue === undefined) throw new Error(`${this.role} (${this.o.port}): EUI-64 unknown until open() has read it with "zdo eui64"`);
    return this.euiValue;
  }

  /**
   * Opens the port, turns echo and colours off (`shell echo off`, `shell colors off`: the
   * parser copes with both anyway), waits for the output to settle, reads the EUI-64.
   */
  async open(): Promise<void> {
    if (this.session.isOpen) return;
    // Lost underneath (not closed by the harness): the recovery ladder, not a fresh open.
    if (this.session.lostReason !== null) { await this.commands.recover('open'); return; }
    await this.session.open();
    await this.write(ShellCommand.newline, 'open');
    await this.write(ShellCommand.echoOff, 'open');
    await this.write(ShellCommand.colorsOff, 'open');
    await this.session.quiet('open');
    this.euiValue = parseEui64Reply(await this.run(ShellCommand.eui64, 'open'));
    await this.afterOpen();
  }

  /** Role-specific checks after the EUI-64 is known. */
  protected async afterOpen(): Promise<void> {}

  async probe(): Promise<DeviceInfo> {
    await this.open();
    if (this.firmware === undefined) {
      try {
        this.firmware = (await this.run(ShellCommand.version, 'probe')).join('; ');
      } catch (e) {
        if (!(e instanceof ShellCommandError)) throw e;
        this.firmware = `("version" refused: ${e.shellText})`;
      }
    }
    return {
      driver: DRIVER_NAME, location: this.o.port, firmware: this.firmware, eui64: this.eui64,
      notes: [`plays ${this.role}`, ...this.session.notes],
    };
  }

  protected refusal(e: unknown): { match: string; shown: string } | undefined {
    return e instanceof ShellCommandError ? { match: e.shellText, shown: `Error: ${e.shellText}` } : undefined;
  }

  protected closedError(): RigUnavailableError {
    return new RigUnavailableError(this.role, this.o.port, 'closed by the harness');
  }

  // ---- the conversation ---------------------------------------------------------------------
  // run() (CliDriverBase) sends one command and resolves with its output lines (echo, prompts,
  // logs and blanks removed) once `Done` arrives; it rejects with ShellCommandError on `Error:`,
  // DeviceTimeoutError after `timeoutMs`, ShellPortClosedError when the port goes away.


  /** Remembers what was typed: its echo may come back even after `shell echo off`. */
  private async write(line: string, step: string): Promise<void> {
    this.recentTx.push(line);
    if (this.recentTx.length > 8) this.recentTx.shift();
    await this.session.write(line, step);
  }

  /**
   * Asks `zdo short` until the device is on a network; undefined when `deadlineAt` passes first,
   * or as soon as `giveUp()` says the firmware reported the attempt over.
   */
  protected async waitForNetwork(step: string, deadlineAt: number, giveUp: () => boolean = () => false): Promise<{ short?: number; last: string }> {
    let last = '';
    for (;;) {
      if (giveUp()) return { last };
      try {
        return { short: parseShortReply(await this.run(ShellCommand.short, step)), last };
      } catch (e) {
        if (!(e instanceof ShellCommandError) || !/commissioned/i.test(e.shellText)) throw e;
        last = e.shellText;
      }
      const left = deadlineAt - this.timers.now();
      if (left <= 0) return { last };
      await this.timers.sleep(Math.min(this.o.pollMs, left));
    }
  }

  /** The device's short address, or undefined when it is on no network. */
  protected async shortAddress(step: string): Promise<number | undefined> {
    try {
      return parseShortReply(await this.run(ShellCommand.short, step));
    } catch (e) {
      if (e instanceof ShellCommandError && /commissioned/i.test(e.shellText)) return undefined;
      throw e;
    }
  }

  // ---- what comes in ------------------------------------------------------------------------

  private onLine(raw: string): void {
    const l = classifyLine(raw);
    const p = this.commands.pending;
    switch (l.kind) {
      case 'blank': return;
      case 'log':
        this.stats.logLines++;
        this.onLog(l.module, l.text);
        return;
      case 'garbage':
        this.stats.garbageLines++;
        this.note(`garbage line ignored (${raw.length} bytes)`);
        return;
      case 'text':
        if (p && !p.echoSeen && l.text === p.command) { p.echoSeen = true; return; }
        if (this.recentTx.includes(l.text)) return; // echo of a command typed before echo went off
        if (p) p.lines.push(l.text); else this.stats.strayLines++;
        return;
      case 'done':
      case 'error':
      case 'shell-error':
        if ('skippedPrefix' in l && l.skippedPrefix !== undefined) {
          this.stats.garbageLines++;
          this.note(`noise before "${l.kind === 'done' ? 'Done' : 'Error:'}" ignored`);
        }
        if (!p) { this.stats.strayLines++; this.note(`"${cleanKind(l)}" with no command waiting (late answer of an abandoned command?)`); return; }
        if (l.kind === 'done') this.commands.complete();
        else this.commands.fail(new ShellCommandError(this.role, p.step, p.command, l.text, l.kind === 'error' ? 'error' : 'shell'));
    }
  }

  /** Log lines the roles care about (the default signal handler's commissioning outcome). */
  protected onLog(_module: string, _text: string): void {}

}

function cleanKind(l: { kind: string; text?: string }): string {
  return l.kind === 'done' ? 'Done' : `Error: ${l.text ?? ''}`;
}

// ---------------------------------------------------------------------------------------------
// Trust Center

export interface NrfShellTcOptions extends NrfZigbeeShellOptions {
  /** `bdb ic policy enable`: admit install-code devices only (an SE TC). Default true. */
  requireInstallCodes?: boolean;
  /** `bdb legacy enable` after formation: keep joiners that skip the TC link key exchange. Default false. */
  allowLegacy?: boolean;
}

export class NrfZigbeeShellTrustCenter extends NrfZigbeeShellDriver implements TrustCenter {
  readonly role = 'tc' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['install-code', 'tclk-exchange', 'legacy-join']);
  private configuredKey: Uint8Array | undefined;
  private readonly requireInstallCodes: boolean;
  private allowLegacy: boolean;

  constructor(opts: NrfShellTcOptions) {
    super(opts);
    this.requireInstallCodes = opts.requireInstallCodes ?? true;
    this.allowLegacy = opts.allowLegacy ?? false;
  }

  /**
   * `bdb role zc`, channel, PAN ID, extended PAN ID, network key, install-code policy, `bdb
   * start`; resolves when `zdo short` answers 0000 (formed). The firmware then opens the
   * network for 180 s (BDB steering after formation).
   */
  async form(net: NetworkParams): Promise<void> {
    await this.open();
    if ((await this.shortAddress('form')) === 0 && (await this.reuseNetwork(net))) return;
    const key = net.networkKey ?? new Uint8Array(randomBytes(16));
    await this.run(ShellCommand.role('zc'), 'form');
    await this.run(ShellCommand.channel(net.channel), 'form');
    await this.run(ShellCommand.panId(net.panId), 'form');
    if (net.extendedPanId) await this.run(ShellCommand.extPanId(net.extendedPanId), 'form');
    await this.run(ShellCommand.networkKey(key), 'form');
    this.configuredKey = key.slice();
    await this.run(ShellCommand.icPolicy(this.requireInstallCodes), 'form');
    await this.run(ShellCommand.start, 'form');
    const r = await this.waitForNetwork('form', this.timers.now() + this.o.formTimeoutMs);
    if (r.short === undefined) {
      throw new DeviceTimeoutError('tc', 'form', `network formation ("zdo short" kept answering "${r.last}")`, this.o.formTimeoutMs);
    }
    if (r.short !== 0) throw new RigUnavailableError('tc', this.o.port, `form: the coordinator reports short address 0x${r.short.toString(16)}, expected 0x0000`);
    if (this.allowLegacy) await this.run(ShellCommand.legacy(true), 'form');
  }

  /**
   * The coordinator already runs a network (the shell cannot form twice without a power cycle: a
   * rig's TC stays up across tests and runs). When its channel and PAN ID (and the network key,
   * when one is asked for and this driver set it) are the ones asked for, it is reused, with a
   * note in the transcript; otherwise false, and form() lets the firmware refuse.
   */
  private async reuseNetwork(net: NetworkParams): Promise<boolean> {
    const channels = (await this.run(ShellCommand.channelQuery, 'form')).join(' ');
    const primary = /Primary channel\(s\):\s*([\d\s,]+)/i.exec(channels)?.[1].split(/[\s,]+/).filter(Boolean).map(Number) ?? [];
    const panText = (await this.run(ShellCommand.panIdQuery, 'form')).find((l) => /^(0x)?[0-9a-f]{1,4}$/i.test(l.trim()));
    const panId = panText === undefined ? undefined : parseInt(panText.trim().replace(/^0x/i, ''), 16);
    const keyOk = net.networkKey === undefined || (this.configuredKey !== undefined && Buffer.from(net.networkKey).equals(Buffer.from(this.configuredKey)));
    const what = `channel ${primary.join(',') || '?'}, PAN ID 0x${panId?.toString(16).padStart(4, '0') ?? '?'}`;
    // `bdb extpanid` cannot be read back reliably (raw bytes): an asked-for one is not reused.
    if (!primary.includes(net.channel) || panId !== net.panId || !keyOk || net.extendedPanId !== undefined) {
      this.note(`form: the coordinator already runs a network (${what}${keyOk ? '' : ', another network key'}) that is not the one asked for (channel ${net.channel}, PAN ID 0x${net.panId.toString(16).padStart(4, '0')})`);
      return false;
    }
    this.note(`form: the coordinator already runs the network asked for (${what}): reused (the shell cannot re-form without a power cycle)${this.configuredKey ? '' : '; its network key was set before this session and is unknown to the kit'}`);
    await this.run(ShellCommand.legacy(this.allowLegacy), 'form');
    return true;
  }

  /** `bdb legacy enable|disable` (ZC, after formation). */
  async setLegacy(enable: boolean): Promise<void> {
    this.allowLegacy = enable;
    await this.run(ShellCommand.legacy(enable), 'legacy');
  }

  async permitJoin(seconds: number): Promise<void> {
    if (seconds === 0) throw new ShellUnsupportedError('tc', 'permitJoin(0)', 'there is no command that closes the network; it closes by itself 180 s after the last "bdb start"');
    if (seconds !== 180) this.note(`permitJoin(${seconds}): "bdb start" opens the network for bdbcMinCommissioningTime (180 s), not ${seconds} s`);
    await this.run(ShellCommand.start, 'permit join');
  }

  async addInstallCode(eui64: Eui64, installCode: string): Promise<void> {
    await this.run(ShellCommand.icAdd(installCode, eui64), 'add install code');
  }

  async deleteLinkKey(_eui64: Eui64): Promise<void> {
    throw new ShellUnsupportedError('tc', 'deleteLinkKey', 'the shell has no command to delete a link key or an install code');
  }

  /** The install-code entries of `bdb ic list`, each with the link key derived from its code. */
  async keyTable(): Promise<{ eui64: Eui64; key: Uint8Array; kind: string }[]> {
    const rows = parseIcList(await this.run(ShellCommand.icList, 'key table'));
    return rows.map((r) => ({
      eui64: parseEui64(r.eui64), key: deriveInstallCodeLinkKey(parseInstallCode(r.installCode, { crc: 'present' })), kind: 'install-code',
    }));
  }

  /** The key set with `bdb nwkkey` by form() (the shell cannot print keys). */
  async networkKey(): Promise<{ key: Uint8Array; seq: number }> {
    if (!this.configuredKey) {
      throw new ShellUnsupportedError('tc', 'networkKey', 'the shell cannot print the network key; only a key set by form() with "bdb nwkkey" is known');
    }
    return { key: this.configuredKey.slice(), seq: 0 };
  }
}

// ---------------------------------------------------------------------------------------------
// Joiner (DUT)

export interface NrfShellJoinerOptions extends NrfZigbeeShellOptions {
  /** `bdb ic set` before the first `bdb start` (the rig's roles.dut.identity.installCode). */
  installCode?: string;
  /** Expected EUI-64 (the rig's identity): a different `zdo eui64` is an error. */
  expectEui64?: Eui64;
  /** `bdb role zr|zed` before the first start (default: the build's default role). */
  deviceRole?: Exclude<ShellRole, 'zc'>;
  /**
   * After `zdo short` first answers, how long to wait for the commissioning outcome log (the TC
   * link key exchange runs after association) when the firmware has logged nothing yet, ms
   * (default 5000).
   */
  settleMs?: number;
}

export class NrfZigbeeShellJoiner extends NrfZigbeeShellDriver implements Joiner {
  readonly role = 'dut' as const;
  readonly capabilities: ReadonlySet<Capability>;
  private readonly installCode: string | undefined;
  private readonly expectEui64: Eui64 | undefined;
  private readonly deviceRole: Exclude<ShellRole, 'zc'> | undefined;
  private started = false;
  private readonly settleMs: number;
  /** The firmware logs its commissioning outcome (zigbee_app_utils). */
  private appLogs = false;
  /** Outcome of the current `bdb start` as logged: {} joined, {failed} not. */
  private steering: { failed?: string } | undefined;

  constructor(opts: NrfShellJoinerOptions) {
    super(opts);
    this.installCode = opts.installCode;
    this.expectEui64 = opts.expectEui64 === undefined ? undefined : parseEui64(opts.expectEui64);
    this.deviceRole = opts.deviceRole;
    this.settleMs = opts.settleMs ?? 5000;
    const caps: Capability[] = ['tclk-exchange', 'legacy-join', 'leave'];
    if (opts.installCode !== undefined) caps.unshift('install-code');
    this.capabilities = new Set(caps);
  }

  protected override async afterOpen(): Promise<void> {
    if (this.expectEui64 !== undefined && this.expectEui64 !== this.eui64) {
      throw new RigUnavailableError('dut', this.o.port, `"zdo eui64" reports ${this.eui64}, the rig file's roles.dut.identity.eui64 says ${this.expectEui64}: wrong dongle, or fix the rig file`);
    }
  }

  async reset(): Promise<void> {
    await this.open();
    await this.runTolerating(ShellCommand.factoryReset, 'reset', /not started/i);
  }

  /**
   * First call: role, channel and install code, then `bdb start`; later calls: `bdb start`
   * (network steering). Then `zdo short` until the device is on a network or the deadline.
   */
  async join(opts: JoinOptions = {}): Promise<JoinResult> {
    await this.open();
    const ms = opts.timeoutMs ?? this.o.joinTimeoutMs;
    const deadlineAt = this.timers.now() + ms;
    const already = await this.shortAddress('join');
    if (already !== undefined) return { joined: false, reason: `already on a network (short 0x${already.toString(16).padStart(4, '0')}): leave or reset first` };
    if (!this.started) {
      const started = /Stack already started/i;
      if (this.deviceRole) await this.runTolerating(ShellCommand.role(this.deviceRole), 'join', started);
      if (opts.channel !== undefined) await this.runTolerating(ShellCommand.channel(opts.channel), 'join', started);
      if (this.installCode !== undefined) await this.runTolerating(ShellCommand.icSet(this.installCode), 'join', started);
    }
    if (opts.panId !== undefined) this.note(`join: PAN ID 0x${opts.panId.toString(16)} not applied (BDB steering joins any open network on the channel)`);
    this.steering = undefined;
    await this.run(ShellCommand.start, 'join');
    this.started = true;
    // A firmware that logs its steering outcome says when an attempt failed: no need to poll on.
    const r = await this.waitForNetwork('join', deadlineAt, () => this.outcome()?.failed !== undefined);
    if (r.short === undefined) {
      return { joined: false, reason: this.outcome()?.failed ?? `no network joined within ${ms} ms ("zdo short": "${r.last}")` };
    }
    // `zdo short` answers as soon as the device associated; the TC link key exchange may still be
    // running. A firmware that logs (zigbee_app_utils) says when steering is over: wait for that
    // line; one that has logged nothing within settleMs is taken at its `zdo short`.
    const settleUntil = this.timers.now() + this.settleMs;
    while (this.outcome() === undefined && (this.appLogs || this.timers.now() < settleUntil)) {
      const left = deadlineAt - this.timers.now();
      if (left <= 0) return { joined: false, reason: `associated (short 0x${r.short.toString(16).padStart(4, '0')}) but no commissioning outcome logged within ${ms} ms` };
      await this.timers.sleep(Math.min(this.o.pollMs, left));
    }
    const outcome = this.outcome();
    if (outcome?.failed !== undefined) return { joined: false, reason: outcome.failed };
    const short = await this.shortAddress('join');
    if (short === undefined) return { joined: false, reason: 'joined, then left the network again (see the transcript)' };
    if (this.outcome() === undefined) this.note(`join: no commissioning outcome logged within ${this.settleMs} ms; taken as joined on "zdo short" = ${short.toString(16).padStart(4, '0')}`);
    return { joined: true, shortAddress: short };
  }

  /** Read through a method: TypeScript would keep the narrowing from `= undefined` across awaits. */
  private outcome(): { failed?: string } | undefined {
    return this.steering;
  }

  protected override onLog(module: string, text: string): void {
    if (module !== 'zigbee_app_utils') return;
    this.appLogs = true;
    if (/^Joined network successfully/.test(text)) this.steering = {};
    else if (/steering was not successful|Unable to join/i.test(text)) this.steering = { failed: text };
  }

  /** `zdo mgmt_leave <own short> [--rejoin]`; without rejoin, waits until `zdo short` says it is off the network. */
  async leave(opts: { rejoin?: boolean } = {}): Promise<void> {
    await this.open();
    const short = await this.shortAddress('leave');
    if (short === undefined) { this.note('leave: not on a network'); return; }
    await this.run(ShellCommand.mgmtLeave(short, { rejoin: opts.rejoin }), 'leave');
    if (opts.rejoin) return;
    const deadlineAt = this.timers.now() + this.o.replyTimeoutMs;
    while ((await this.shortAddress('leave')) !== undefined) {
      if (this.timers.now() >= deadlineAt) throw new DeviceTimeoutError('dut', 'leave', '"zdo short" to report no network after the leave', this.o.replyTimeoutMs);
      await this.timers.sleep(this.o.pollMs);
    }
  }

  async rejoin(_opts: RejoinOptions): Promise<JoinResult> {
    throw new ShellUnsupportedError('dut', 'rejoin', 'the shell has no rejoin command (only "zdo mgmt_leave <self> --rejoin", which leaves first)');
  }
}

/** The driver for a rig's `nrf-zigbee-shell` role. */
export function nrfZigbeeShellFromRig(
  role: 'tc' | 'dut',
  config: { port: string; baud: number; powerCycle?: string },
  identity: { eui64: Eui64; installCode?: string } | undefined,
  clock: Clock,
  rig: { power?: { cycle: string } } = {},
): NrfZigbeeShellTrustCenter | NrfZigbeeShellJoiner {
  // The role's powerCycle, else the rig's power.cycle, is the recovery ladder's last step (../serial-session.ts).
  const cycle = powerCycleCommand(config, rig);
  const base = { port: config.port, baudRate: config.baud, clock, ...(cycle ? { powerCycle: { command: cycle } } : {}) };
  if (role === 'tc') return new NrfZigbeeShellTrustCenter(base);
  return new NrfZigbeeShellJoiner({ ...base, expectEui64: identity?.eui64, installCode: identity?.installCode });
}
