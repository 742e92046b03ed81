// An emulator of the nRF Connect SDK Zigbee shell sample (radios.md §2) on one end of a
// pseudo-terminal pair; the driver under test opens the other end. Behind the shell runs a
// simulated node of harness/stack on a VirtualAir: a TrustCenter when the role is `zc`, a Joiner
// when it is `zr`/`zed`. What it prints follows the firmware:
// - Zephyr shell: prompt `uart:~$ ` (coloured), echo ON and VT100 colours ON until `shell echo
//   off` / `shell colors off`; errors wrapped in red; an asynchronous line (log, late `Done`)
//   first erases the prompt (`\r` + `ESC[J`) and re-prints it after; unknown command →
//   `<cmd>: command not found`; wrong argument count → `<cmd>: wrong parameter count`;
// - sdk-nrf subsys/zigbee/cli/zigbee_cli_cmd_bdb.c: `bdb role zc|zr|zed` ("Coordinator set",
//   "Router role set", "End Device role set"; "Stack already started"; "Role unsupported" in the
//   wrong build), `bdb start` ("Started coordinator|router|End Device" + Done; later calls =
//   network steering), `bdb ic set` (joiner, before start; "Device can't be a coordinator"),
//   `bdb ic add` (ZC, after start, Done from the ZBOSS thread: asynchronous here too),
//   `bdb ic policy enable|disable` (ZC, before start), `bdb legacy [enable|disable]` (ZC only,
//   after start: "Device must be a coordinator", "Stack not started"), `bdb channel|panid|
//   extpanid|nwkkey` (before start);
// - zigbee_cli_cmd_zdo.c: `zdo eui64`, `zdo short` ("Check if device was commissioned" off a
//   network), `zdo mgmt_leave <dst> [--rejoin]` (Done when the leave is through);
// - the default signal handler logs `<inf> zigbee_app_utils: …` on formation/join.
// Deviation, on purpose: `bdb ic list` answers at once (the firmware answers from its thread).
//
// Fault injection for the driver's tests: raw bytes (garbage, partial lines), a mute firmware,
// a command that never answers, an `Error:` for a command, the port closing mid-command.
import { SerialPort } from 'serialport';
import { parseInstallCode, installCodeFromBytes } from '../../harness/crypto/install-code.ts';
import type { VirtualAir } from '../../harness/sim/air.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import type { TcOptions } from '../../harness/stack/tc-state.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';
import { LineSplitter } from '../nrf-sniffer/protocol.ts';
import { formatIcList, PROMPT, type ShellRole } from './protocol.ts';

export interface ShellEmulatorOptions {
  /** The PTY end the emulator opens. */
  path: string;
  air: VirtualAir;
  /** The air's clock (the stack's timers run on it). */
  clock: Clock;
  eui64: Eui64;
  /** A router build plays zc or zr (default zr); an end-device build (ZB_ED_ROLE) plays zed only. */
  build?: 'router' | 'end-device';
  /** As the emulator's sniffer test's `hangup`: what unplugging does to the host's tty. */
  hangup?: () => void | Promise<void>;
  /** Delay of the ZBOSS-thread replies (`bdb ic add`), ms on `clock` (default 5). */
  asyncDelayMs?: number;
}

interface Fault {
  match: (cmd: string) => boolean;
  kind: 'hang' | 'error' | 'close' | 'before';
  text?: string;
  once: boolean;
}

const RED = '\x1b[1;31m';
const GREEN = '\x1b[1;32m';
const RESET = '\x1b[m';

export class NrfZigbeeShellEmulator {
  private port: SerialPort | null = null;
  private readonly splitter = new LineSplitter();
  private echo = true;
  private colors = true;
  private mute = false;
  private readonly faults: Fault[] = [];
  private readonly timers = new Set<() => void>();
  private role: ShellRole;
  private channel = 11;
  private panId: number | undefined;
  private extPanId: Eui64 | undefined;
  private nwkKey: Uint8Array | undefined;
  private icPolicy = false;
  private legacy = false;
  private localIc: string | undefined;
  private readonly ics: { eui64: Eui64; installCode: string; options: number }[] = [];
  private started = false;
  private eui: Eui64;
  /** The simulated node behind the shell, once `bdb start` made one. */
  tc: TrustCenter | null = null;
  joiner: Joiner | null = null;
  private formed = false;
  /** Commands received, in order (for assertions). */
  readonly commands: string[] = [];

  constructor(private readonly o: ShellEmulatorOptions) {
    this.role = o.build === 'end-device' ? 'zed' : 'zr';
    this.eui = parseEui64(o.eui64);
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.o.path, baudRate: 115200, autoOpen: false, lock: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('error', () => { /* the host going away is not the firmware's problem */ });
    port.on('data', (chunk: Buffer) => this.onBytes(chunk));
    this.port = port;
    this.prompt();
  }

  async close(): Promise<void> {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.tc?.stop();
    this.joiner?.stop();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  // ---- fault injection ----------------------------------------------------------------------

  /** Writes raw bytes as they are: garbage, NULs, a line without its ending. */
  injectRaw(bytes: string | Uint8Array): void {
    this.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }

  /** A hung firmware: reads nothing, answers nothing. */
  setMute(mute: boolean): void {
    this.mute = mute;
  }

  /** Commands starting with `prefix` are echoed and then never answered. */
  hangOn(prefix: string, once = true): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'hang', once });
  }

  /** Commands starting with `prefix` answer `Error: <text>` instead of running. */
  errorOn(prefix: string, text: string, once = true): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'error', text, once });
  }

  /** The dongle vanishes while running a command starting with `prefix`, after half a line of output. */
  closeOn(prefix: string, partial = 'Started rou'): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'close', text: partial, once: true });
  }

  /** Raw bytes written before the reply of a command starting with `prefix` (e.g. a partial line). */
  beforeReply(prefix: string, raw: string, once = true): void {
    this.faults.push({ match: (c) => c.startsWith(prefix), kind: 'before', text: raw, once });
  }

  /** The dongle vanishes: port closed, the host's tty hung up. */
  async vanish(): Promise<void> {
    // Both ends at once, as on an unplug; the hangup does not wait for our own close.
    const hangup = Promise.resolve(this.o.hangup?.());
    await Promise.all([this.close(), hangup]);
  }

  // ---- the shell ----------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.mute) return;
    for (const e of this.splitter.push(chunk)) {
      if (e.kind !== 'line') continue;
      if (this.echo) this.write(Buffer.from(`${e.text}\r\n`, 'latin1'));
      const argv = e.text.trim().split(/\s+/).filter((a) => a !== '');
      if (argv.length === 0) { this.prompt(); continue; }
      const cmd = argv.join(' ');
      this.commands.push(cmd);
      const fault = this.faults.find((f) => f.match(cmd));
      if (fault) {
        if (fault.once) this.faults.splice(this.faults.indexOf(fault), 1);
        if (fault.kind === 'hang') continue;
        if (fault.kind === 'error') { this.error(fault.text!); this.prompt(); continue; }
        if (fault.kind === 'close') { this.injectRaw(fault.text!); void this.vanish(); return; }
        this.injectRaw(fault.text!);
      }
      this.command(argv);
      this.prompt();
    }
  }

  private command(argv: string[]): void {
    const [cmd, sub, ...rest] = argv;
    switch (cmd) {
      case 'shell':
        if ((sub === 'echo' || sub === 'colors') && rest.length === 1 && (rest[0] === 'on' || rest[0] === 'off')) {
          if (sub === 'echo') this.echo = rest[0] === 'on'; else this.colors = rest[0] === 'on';
          return;
        }
        this.shellError(`${argv.join(' ')}: command not found`);
        return;
      case 'bdb': this.bdb(sub, rest); return;
      case 'zdo': this.zdo(sub, rest); return;
      case 'version':
        this.print('Shell: emulator');
        this.print('ZBOSS: 3.11.2.1');
        this.print('Zephyr kernel version: 3.5.99');
        this.done();
        return;
      default:
        this.shellError(`${cmd}: command not found`);
    }
  }

  private bdb(sub: string | undefined, args: string[]): void {
    switch (sub) {
      case 'role': {
        if (args.length === 0) { this.print(this.role); this.done(); return; }
        if (this.started) { this.error('Stack already started'); return; }
        const r = args[0];
        const ed = this.o.build === 'end-device';
        if (r === 'zc' || r === 'zr') {
          if (ed) { this.error('Role unsupported'); return; }
          this.role = r;
          this.print(r === 'zc' ? 'Coordinator set' : 'Router role set');
        } else if (r === 'zed') {
          if (!ed) { this.error('Role unsupported'); return; }
          this.print('End Device role set');
        } else { this.shellError(`role: wrong parameter count`); return; }
        this.done();
        return;
      }
      case 'channel': {
        if (args.length === 0) {
          this.print(`Primary channel(s): ${this.channel}`);
          this.print(`Secondary channel(s): ${this.channel}`);
          this.done();
          return;
        }
        if (this.started) { this.error('Stack already started'); return; }
        const n = Number.parseInt(args[0], 10);
        if (!(n >= 11 && n <= 26)) { this.error('Bitmask invalid'); return; }
        if (n !== this.channel) this.print(`Setting channel to ${n}`);
        this.channel = n;
        this.done();
        return;
      }
      case 'panid':
        if (args.length === 0) { this.print((this.tc?.node.net.panId ?? this.joiner?.node.net.panId ?? this.panId ?? 0xffff).toString(16)); this.done(); return; }
        if (this.started) { this.error('Stack already started'); return; }
        if (!/^(0x)?[0-9a-fA-F]{1,4}$/.test(args[0])) { this.error('Failed to parse PAN ID'); return; }
        this.panId = parseInt(args[0].replace(/^0x/i, ''), 16);
        this.done();
        return;
      case 'extpanid':
        if (args.length === 0) { this.write(Buffer.from(this.extPanId ?? this.eui)); this.done(true); return; }
        if (this.started) { this.error('Stack already started'); return; }
        try { this.extPanId = parseEui64(args[0]); } catch { this.error('Failed to parse extpanid'); return; }
        this.done();
        return;
      case 'nwkkey':
        if (args.length !== 1) { this.shellError('nwkkey: wrong parameter count'); return; }
        if (this.started) { this.error('Stack already started'); return; }
        if (!/^[0-9a-fA-F]{32}$/.test(args[0])) { this.error('Failed to parse key'); return; }
        this.nwkKey = Uint8Array.from(args[0].match(/../g)!.map((h) => parseInt(h, 16)));
        this.done();
        return;
      case 'legacy':
        if (args.length === 0) {
          if (this.role !== 'zc') { this.error('Device must be a coordinator'); return; }
          this.print(this.legacy ? 'on' : 'off');
          this.done();
          return;
        }
        if (!this.started) { this.error('Stack not started'); return; }
        if (this.role !== 'zc') { this.error('Device must be a coordinator'); return; }
        if (args[0] !== 'enable' && args[0] !== 'disable') { this.shellError(`legacy ${args[0]}: command not found`); return; }
        this.legacy = args[0] === 'enable';
        this.applyLegacy();
        this.done();
        return;
      case 'start': this.start(); return;
      case 'factory_reset':
        if (this.joiner) void this.joiner.reset();
        if (this.tc) { this.tc.stop(); this.tc = null; this.formed = false; }
        this.done();
        return;
      case 'ic': this.ic(args); return;
      default:
        this.shellError(`bdb${sub ? ` ${sub}` : ''}: command not found`);
    }
  }

  private ic(args: string[]): void {
    const [op, ...rest] = args;
    if (op === 'list' && rest.length === 0) {
      if (this.role !== 'zc') { this.error('Device must be a coordinator'); return; }
      for (const l of formatIcList(this.ics)) this.print(l);
      this.done();
      return;
    }
    if (op === 'set' && rest.length === 1) {
      if (this.role === 'zc') { this.error("Device can't be a coordinator"); return; }
      if (this.started) { this.error('Stack already started'); return; }
      const ic = parseIc(rest[0]);
      if (!ic) { this.error('Failed to parse IC'); return; }
      this.localIc = ic;
      this.done();
      return;
    }
    if (op === 'add' && rest.length === 2) {
      if (this.role !== 'zc') { this.error('Device must be a coordinator'); return; }
      if (!this.started || !this.tc) { this.error('Stack not started'); return; }
      const ic = parseIc(rest[0]);
      if (!ic) { this.error('Failed to parse IC'); return; }
      let eui: Eui64;
      try { eui = parseEui64(rest[1]); } catch { this.error('Failed to parse eui64'); return; }
      const tc = this.tc;
      // zb_install_code_add runs in the ZBOSS thread: Done comes later.
      this.later(this.o.asyncDelayMs ?? 5, () => {
        tc.addInstallCode(eui, ic).then(() => {
          const at = this.ics.findIndex((e) => e.eui64 === eui);
          const entry = { eui64: eui, installCode: ic, options: 0x3 };
          if (at >= 0) this.ics[at] = entry; else this.ics.push(entry);
          this.async(() => this.done());
        }, () => this.async(() => this.error('Failed to add IC')));
      });
      return;
    }
    if (op === 'policy' && rest.length === 1) {
      if (this.role !== 'zc') { this.error('Device must be a coordinator'); return; }
      if (this.started) { this.error('Stack already started'); return; }
      if (rest[0] !== 'enable' && rest[0] !== 'disable') { this.error('Syntax error'); return; }
      this.icPolicy = rest[0] === 'enable';
      this.done();
      return;
    }
    this.error('Syntax error');
  }

  private start(): void {
    if (!this.started) {
      this.started = true;
      this.print(this.role === 'zc' ? 'Started coordinator' : this.role === 'zr' ? 'Started router' : 'Started End Device');
      this.done();
      this.later(1, () => this.commission());
      return;
    }
    // Later calls: BDB network steering (on a formed network: open it for joining).
    this.done();
    this.later(1, () => this.commission());
  }

  private commission(): void {
    const clock = this.o.clock;
    if (this.role === 'zc') {
      if (!this.tc) {
        const tc = new TrustCenter({ air: this.o.air, clock, eui64: this.eui, name: 'nrf-shell-zc', acceptWellKnownKeyJoins: !this.icPolicy });
        this.tc = tc;
        this.applyLegacy();
        const panId = this.panId ?? 0x1a62;
        void tc.form({ channel: this.channel, panId, extendedPanId: this.extPanId, networkKey: this.nwkKey }).then(async () => {
          this.formed = true;
          this.log('inf', 'zigbee_app_utils', `Network formed successfully, start network steering (Extended PAN ID: ${this.extPanId ?? this.eui}, PAN ID: 0x${panId.toString(16).padStart(4, '0')})`);
          await tc.permitJoin(180);
          this.log('inf', 'zigbee_app_utils', 'Network steering started');
        });
        return;
      }
      if (this.formed) void this.tc.permitJoin(180).then(() => this.log('inf', 'zigbee_app_utils', 'Network steering started'));
      return;
    }
    this.joiner ??= new Joiner({
      air: this.o.air, clock, eui64: this.eui, name: `nrf-shell-${this.role}`,
      deviceType: this.role === 'zr' ? 'router' : 'end-device', ...(this.localIc ? { installCode: this.localIc } : {}),
    });
    const j = this.joiner;
    if (j.joined) return;
    void j.join({ channel: this.channel, ...(this.panId !== undefined ? { panId: this.panId } : {}), timeoutMs: 10_000 }).then((r) => {
      if (r.joined) {
        this.log('inf', 'zigbee_app_utils', `Joined network successfully (Extended PAN ID: ${j.node.net.extendedPanId ?? 'unknown'}, PAN ID: 0x${j.node.net.panId.toString(16).padStart(4, '0')})`);
      } else {
        this.log('inf', 'zigbee_app_utils', `Network steering was not successful (status: -1): ${r.reason ?? r.code}`);
      }
    });
  }

  /** `bdb legacy enable` → zb_bdb_set_legacy_device_support(1): joiners that skip the TC link key exchange stay. */
  private applyLegacy(): void {
    if (!this.tc) return;
    // TcOptions are read at each decision (tc-exchange.ts); the stack keeps them private.
    (this.tc as unknown as { state: { options: TcOptions } }).state.options.requireKeyExchange = !this.legacy;
  }

  private zdo(sub: string | undefined, args: string[]): void {
    switch (sub) {
      case 'eui64':
        if (args.length === 1) {
          if (this.started) { this.error('Stack already started'); return; }
          try { this.eui = parseEui64(args[0]); } catch { this.error('Incorrect EUI64 address format'); return; }
        }
        this.write(Buffer.from(this.eui));
        this.done(true);
        return;
      case 'short': {
        const short = this.role === 'zc' ? (this.formed ? 0 : undefined) : this.joiner?.shortAddress;
        if (short === undefined) { this.error('Check if device was commissioned'); return; }
        this.write(Buffer.from(short.toString(16).padStart(4, '0')));
        this.done(true);
        return;
      }
      case 'mgmt_leave': {
        if (args.length === 0) { this.error('Lack of dst_addr parameter'); return; }
        const dst = parseInt(args[0].replace(/^0x/i, ''), 16);
        if (!/^(0x)?[0-9a-fA-F]{1,4}$/.test(args[0])) { this.error('Incorrect dst_addr'); return; }
        const rejoin = args.includes('--rejoin');
        const j = this.joiner;
        if (j?.joined && j.shortAddress === dst) {
          this.later(this.o.asyncDelayMs ?? 5, () => {
            void j.leave({ rejoin }).then(() => {
              this.async(() => this.done());
              this.log('inf', 'zigbee_app_utils', 'Network left (leave type: 0)');
            });
          });
          return;
        }
        const dev = this.tc ? [...this.tc.devices.entries()].find(([, d]) => d.short === dst) : undefined;
        if (this.tc && dev) {
          const tc = this.tc;
          this.later(this.o.asyncDelayMs ?? 5, () => {
            void tc.requestLeave(dev[0], { rejoin, method: 'zdo' }).then(() => this.async(() => this.done()), () => this.async(() => this.error('Unable to remove device. Status: 132')));
          });
          return;
        }
        this.later(this.o.asyncDelayMs ?? 5, () => this.async(() => this.error('mgmt_leave request timed out')));
        return;
      }
      default:
        this.shellError(`zdo${sub ? ` ${sub}` : ''}: command not found`);
    }
  }

  // ---- output -------------------------------------------------------------------------------

  private later(ms: number, fn: () => void): void {
    const cancel = this.o.clock.setTimer(ms, () => { this.timers.delete(cancel); if (this.port) fn(); });
    this.timers.add(cancel);
  }

  /** An asynchronous print: erase the prompt, print, show the prompt again. */
  private async(fn: () => void): void {
    if (!this.port || this.mute) return;
    if (this.echo) this.write(Buffer.from(this.colors ? '\r\x1b[J' : '\r', 'latin1'));
    fn();
    this.prompt();
  }

  private log(level: 'inf' | 'wrn' | 'err', module: string, text: string): void {
    this.async(() => {
      const ms = Math.max(0, this.o.clock.now());
      const h = Math.floor(ms / 3_600_000), m = Math.floor(ms / 60_000) % 60, s = Math.floor(ms / 1000) % 60;
      const frac = Math.floor(ms % 1000), us = Math.floor((ms * 1000) % 1000);
      const p2 = (n: number) => String(n).padStart(2, '0'), p3 = (n: number) => String(n).padStart(3, '0');
      const line = `[${p2(h)}:${p2(m)}:${p2(s)}.${p3(frac)},${p3(us)}] <${level}> ${module}: ${text}`;
      this.print(line, level === 'err' ? RED : level === 'wrn' ? '\x1b[1;33m' : undefined);
    });
  }

  private prompt(): void {
    if (this.echo) this.write(Buffer.from(this.colors ? `${GREEN}${PROMPT}${RESET}` : PROMPT, 'latin1'));
  }

  /** zb_shell_print_done: "Done", with an empty line first when the output before it had no LF. */
  private done(newlineFirst = false): void {
    this.write(Buffer.from(`${newlineFirst ? '\r\n' : ''}Done\r\n`, 'latin1'));
  }

  private error(text: string): void {
    this.print(`Error: ${text}`, RED);
  }

  private shellError(text: string): void {
    this.print(text, RED);
  }

  private print(text: string, colour?: string): void {
    const t = this.colors && colour ? `${colour}${text}${RESET}` : text;
    this.write(Buffer.from(`${t}\r\n`, 'latin1'));
  }

  private write(b: Buffer): void {
    if (this.port?.isOpen) this.port.write(b);
  }
}

/** parse_hex_str into `ic[16 + 2]`: exactly 18 bytes of hex; the CRC must be right for zb_secur_ic_*. */
function parseIc(text: string): string | undefined {
  if (!/^[0-9a-fA-F]{36}$/.test(text)) return undefined;
  try {
    const ic = parseInstallCode(text, { crc: 'present' });
    return [...installCodeFromBytes(ic.bytes, { crc: 'present' }).bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  } catch {
    return undefined;
  }
}
