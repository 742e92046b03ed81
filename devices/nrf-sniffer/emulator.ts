// An emulator of the nRF Sniffer for 802.15.4 firmware (NCS sample 802154_sniffer) on one end of
// a pseudo-terminal pair; the driver under test opens the other end. It listens to a VirtualAir
// and prints what the firmware would print. Behaviour from
// nrfconnect/sdk-nrf@41a8e0d:samples/peripheral/802154_sniffer/{src/main.c,prj.conf}:
// - Zephyr shell, no prompt, no colours, echo ON until `shell echo off`; a line ends at CR or LF
//   (CRLF counts once); unknown command → "<cmd>: command not found";
//   wrong argument count → "<cmd>: wrong parameter count" (Zephyr shell built-ins);
// - `channel N` sets the channel silently (`atoi`, the radio rejects 0 and out-of-range values
//   silently too); `channel` prints the channel as a bare number;
// - `receive` puts the radio in RX and every frame becomes
//   "received: <hex> power: <rssi> lqi: <lqi> time: <µs>", the hex being the PSDU without FCS plus
//   2 bytes (raw LQI, 0x00: radios.md §1.3 [verified] tail `37 00` for lqi 220 = 0x37·4);
// - `sleep` turns the radio off; `bootloader` (dongle) reboots into DFU: the tty disappears.
// DTR gating (prj.conf CHECK_DTR) cannot be seen on a PTY (no modem lines), so the emulator treats
// the open port as DTR asserted.
import { SerialPort } from 'serialport';
import type { AirFrame, VirtualAir } from '../../harness/sim/air.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import { formatSnifferLine, LineSplitter } from './protocol.ts';

export interface DeviceCounter {
  /** Counter value at run-clock time 0 (default 0). */
  start?: bigint;
  /** 64 (NCS firmware) or 32 (pre-NCS, wraps every 2^32 µs ≈ 71.6 min). Default 64. */
  bits?: 32 | 64;
  /** How fast the sniffer's crystal runs against the run clock, ppm (default 0). */
  ppm?: number;
}

export interface SnifferEmulatorOptions {
  /** The PTY end the emulator opens. */
  path: string;
  air: VirtualAir;
  /** The air's clock: frame times are on it. */
  clock: Clock;
  counter?: DeviceCounter;
  /** Channel at boot (the firmware's default is the radio driver's, 11). */
  channel?: number;
  /** Delay between hearing a frame and printing it, on `clock` (default 0: print at once). */
  printDelayMs?: (frame: AirFrame) => number;
  /**
   * What unplugging the dongle does to the host's side. Closing one end of a socat PTY pair is
   * invisible to the other end (socat keeps both masters open), so tests pass the pair's
   * `unplug()`, which kills socat: the host's tty then hangs up as a CDC-ACM tty does on unplug.
   */
  hangup?: () => void | Promise<void>;
}

type Mangle = (line: string) => string;

export class NrfSnifferEmulator {
  private port: SerialPort | null = null;
  private readonly splitter = new LineSplitter();
  private echo = true;
  private channel: number;
  private radio: { setChannel(c: number): void; detach(): void } | null = null;
  private mute = false;
  private readonly mangles: Mangle[] = [];
  private readonly timers = new Set<() => void>();
  /** Commands received, in order (for assertions). */
  readonly commands: string[] = [];
  /** Frame lines printed. */
  printed = 0;

  constructor(private readonly o: SnifferEmulatorOptions) {
    this.channel = o.channel ?? 11;
  }

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.o.path, baudRate: 115200, autoOpen: false, lock: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('error', () => { /* the host side going away is not the emulator's problem */ });
    port.on('data', (chunk: Buffer) => this.onBytes(chunk));
    this.port = port;
  }

  /** Device counter for a run-clock time in µs: start + t·(1 + ppm), truncated to the counter width. */
  deviceTime(runUs: bigint): bigint {
    const c = this.o.counter ?? {};
    const scaled = (c.start ?? 0n) + BigInt(Math.round(Number(runUs) * (1 + (c.ppm ?? 0) * 1e-6)));
    return (c.bits ?? 64) === 32 ? scaled & 0xffffffffn : scaled & 0xffffffffffffffffn;
  }

  // ---- fault injection ----------------------------------------------------------------------

  /** Writes raw bytes as they are: garbage, NULs, a line without its ending. */
  injectRaw(bytes: string | Uint8Array): void {
    this.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }

  /** The next frame line goes out through `mangle` (bad hex, cut short, …); queue several for several frames. */
  mangleNextFrame(mangle: Mangle): void {
    this.mangles.push(mangle);
  }

  /** A hung firmware: reads nothing, answers nothing, prints nothing. */
  setMute(mute: boolean): void {
    this.mute = mute;
  }

  /** The dongle vanishes mid-stream: radio off, port closed, the host's tty hung up. */
  async vanish(): Promise<void> {
    await this.close();
    await this.o.hangup?.();
  }

  async close(): Promise<void> {
    this.radioOff();
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  // ---- the shell ----------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.mute) return;
    for (const e of this.splitter.push(chunk)) {
      if (e.kind !== 'line') continue;
      if (this.echo) this.print(e.text);
      this.command(e.text);
    }
  }

  private command(line: string): void {
    const argv = line.trim().split(/\s+/).filter((a) => a !== '');
    if (argv.length === 0) return;
    this.commands.push(argv.join(' '));
    const [cmd, ...args] = argv;
    const wrongCount = () => this.print(`${cmd}: wrong parameter count`);
    switch (cmd) {
      case 'channel':
        if (args.length === 0) { this.print(String(this.channel)); return; }
        if (args.length > 1) { wrongCount(); return; }
        this.setChannel(atoi(args[0]));
        return;
      case 'receive':
        if (args.length > 0) { wrongCount(); return; }
        this.radioOn();
        return;
      case 'sleep':
        if (args.length > 0) { wrongCount(); return; }
        this.radioOff();
        return;
      case 'shell':
        if (args[0] === 'echo' && (args[1] === 'on' || args[1] === 'off') && args.length === 2) { this.echo = args[1] === 'on'; return; }
        this.print(`${line.trim()}: command not found`);
        return;
      case 'bootloader':
        void this.vanish();
        return;
      default:
        this.print(`${cmd}: command not found`);
    }
  }

  private setChannel(c: number): void {
    if (!Number.isInteger(c) || c < 11 || c > 26) return; // set_channel fails with -EINVAL; cmd_channel ignores it
    this.channel = c;
    this.radio?.setChannel(c);
  }

  private radioOn(): void {
    if (this.radio) return;
    this.radio = this.o.air.sniff(this.channel, (f) => this.onAir(f), 'nrf-sniffer-emulator');
  }

  private radioOff(): void {
    this.radio?.detach();
    this.radio = null;
  }

  private onAir(f: AirFrame): void {
    const body = f.psdu.subarray(0, f.psdu.length - 2); // the radio checks and strips the FCS
    const rawLqi = Math.min(0xff, Math.ceil(f.lqi / 4)); // nRF ED→LQI scale ×4, saturating at 255
    let line = formatSnifferLine({
      psdu: body, trailer: Uint8Array.of(rawLqi, 0x00), rssi: Math.round(f.rssi), lqi: f.lqi, deviceTimeUs: this.deviceTime(f.timestampUs),
    });
    const mangle = this.mangles.shift();
    if (mangle) line = mangle(line);
    const delay = this.o.printDelayMs?.(f) ?? 0;
    if (delay <= 0) { this.printFrame(line); return; }
    const cancel = this.o.clock.setTimer(delay, () => { this.timers.delete(cancel); this.printFrame(line); });
    this.timers.add(cancel);
  }

  private printFrame(line: string): void {
    if (this.mute || !this.radio) return;
    this.printed++;
    this.print(line);
  }

  /** shell_print: the text and a line ending (the Zephyr shell sends CRLF). */
  private print(text: string): void {
    this.write(Buffer.from(`${text}\r\n`, 'latin1'));
  }

  private write(b: Buffer): void {
    if (this.port?.isOpen) this.port.write(b);
  }
}

/** C `atoi`: leading digits, 0 when there are none. */
function atoi(s: string): number {
  const m = /^[+-]?\d+/.exec(s);
  return m ? Number(m[0]) : 0;
}
