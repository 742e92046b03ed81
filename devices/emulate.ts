// Virtual hardware: for every role of a rig file that names a serial driver, a socat PTY pair
// whose device-side link sits at the role's `port`, and that firmware's emulator on the other end.
// All emulators share ONE VirtualAir on a PacedClock, so the nRF sniffer emulator hears exactly
// what the TC's and the DUT's simulated nodes put on the air. `sehil emulate RIG.yaml` runs it;
// `sehil run --rig RIG.yaml` then drives the real serial drivers through real ttys.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RigFile, RoleConfig } from '../harness/rig/schema.ts';
import { VirtualAir } from '../harness/sim/air.ts';
import { PacedClock } from '../harness/sim/clock.ts';
import { parseEui64, type Eui64 } from '../harness/zigbee/codec.ts';
import { EmberCliEmulator } from './ember-cli/emulator.ts';
import { NrfSnifferEmulator } from './nrf-sniffer/emulator.ts';
import { NrfZigbeeShellEmulator } from './nrf-zigbee-shell/emulator.ts';
import { openPtyPair, type PtyPair } from './pty.ts';

type RoleName = 'tc' | 'dut' | 'sniffer';
const ROLES: readonly RoleName[] = ['tc', 'dut', 'sniffer'];

/** Drivers with a firmware emulator, and the roles each emulator can play. */
export const EMULATED_DRIVERS: Readonly<Record<string, readonly RoleName[]>> = {
  'nrf-sniffer': ['sniffer'],
  'nrf-zigbee-shell': ['tc', 'dut'],
  'ember-cli': ['tc', 'dut'],
};

/** EUI-64 of the emulated TC dongle (the rig file has no identity for the TC). */
export const EMULATED_TC_EUI64: Eui64 = parseEui64('f4:ce:36:00:00:00:7c:01');

/** EUI-64 of the emulated EFR32 TC (Silicon Labs OUI). */
export const EMULATED_EMBER_TC_EUI64: Eui64 = parseEui64('00:0d:6f:00:00:00:7c:01');

/** The rig cannot be emulated: names the role, its driver and what can be. */
export class NotEmulatableError extends Error {
  override name = 'NotEmulatableError';
}

/** Why each role of `rig` cannot be emulated (empty when all can). */
export function emulationProblems(rig: RigFile): string[] {
  const out: string[] = [];
  for (const role of ROLES) {
    const d = rig.roles[role].driver;
    const plays = EMULATED_DRIVERS[d];
    if (!plays) out.push(`roles.${role}.driver: "${d}" has no firmware emulator (emulated: ${Object.keys(EMULATED_DRIVERS).join(', ')})`);
    else if (!plays.includes(role)) out.push(`roles.${role}.driver: the ${d} emulator cannot play ${role} (it plays ${plays.join(', ')})`);
  }
  if ((rig.roles.dut.driver === 'nrf-zigbee-shell' || rig.roles.dut.driver === 'ember-cli') && !rig.roles.dut.identity) {
    out.push('roles.dut.identity: the emulated DUT takes its EUI-64 (and install code) from here; add eui64 and installCode');
  }
  return out;
}

/** The rig with every serial port moved into `dir` (same file names): parallel runs do not collide. */
export function relocatePorts(rig: RigFile, dir: string): RigFile {
  const roles = { ...rig.roles } as Record<RoleName, RoleConfig & { port?: string }>;
  for (const role of ROLES) {
    const r = roles[role];
    if ('port' in r && typeof r.port === 'string') roles[role] = { ...r, port: path.join(dir, path.basename(r.port)) };
  }
  return { ...rig, roles: roles as RigFile['roles'] };
}

export interface VirtualHardware {
  /** Host-side path of each role's tty (where the rig's drivers open it). */
  readonly ports: Partial<Record<RoleName, string>>;
  readonly air: VirtualAir;
  close(): Promise<void>;
}

interface Plugged {
  role: RoleName;
  pair: PtyPair;
  emu: { close(): Promise<void> };
  device: string;
}

/**
 * Opens one PTY pair per role (host link at the role's `port`, the device end next to it as
 * `<port>.device`) and starts each role's emulator on the device end. Throws NotEmulatableError
 * before touching anything when a role's driver has no emulator.
 */
export async function startVirtualHardware(rig: RigFile, opts: { ptyTimeoutMs?: number } = {}): Promise<VirtualHardware> {
  const problems = emulationProblems(rig);
  if (problems.length) throw new NotEmulatableError(problems.join('\n'));
  // The emulated nodes share one virtual air: paced by the wall clock, but in strict event order
  // (acks before ack-wait timeouts) however late the host runs its timers.
  const clock = new PacedClock();
  const air = new VirtualAir(clock);
  const plugged: Plugged[] = [];
  const closeAll = async () => {
    for (const p of plugged.splice(0).reverse()) {
      await p.emu.close().catch(() => {});
      await p.pair.close().catch(() => {});
      // socat removes its links when it exits cleanly; a killed one may not
      for (const f of [p.pair.a, p.device]) fs.rmSync(f, { force: true });
    }
  };
  try {
    for (const role of ROLES) {
      const rc = rig.roles[role];
      const host = 'port' in rc && typeof rc.port === 'string' ? rc.port : undefined;
      if (!host) throw new NotEmulatableError(`roles.${role}: driver ${rc.driver} has no port`);
      const device = `${host}.device`;
      fs.mkdirSync(path.dirname(host), { recursive: true });
      for (const f of [host, device]) {
        if (!fs.existsSync(f) && !isDanglingLink(f)) continue;
        if (!fs.lstatSync(f).isSymbolicLink()) throw new NotEmulatableError(`roles.${role}.port: ${f} exists and is not a link left by an emulator: refusing to replace it`);
        fs.rmSync(f, { force: true }); // a stale link of an earlier run
      }
      const pair = await openPtyPair({ links: { a: host, b: device }, timeoutMs: opts.ptyTimeoutMs ?? 5000 });
      let emu: NrfSnifferEmulator | NrfZigbeeShellEmulator | EmberCliEmulator;
      if (rc.driver === 'nrf-sniffer') {
        emu = new NrfSnifferEmulator({ path: device, air, clock });
      } else if (rc.driver === 'ember-cli') {
        // An SE build (Key Establishment plugin) when the rig's DUT declares a CBKE capability;
        // the TC's with the test-harness component (it chooses the suite its KE server offers).
        const id = role === 'dut' ? rig.roles.dut.identity : undefined;
        const keyEstablishment = (rig.roles.dut.capabilities ?? []).some((c) => c.startsWith('cbke'));
        emu = new EmberCliEmulator({
          path: device, air, clock, role: role === 'tc' ? 'tc' : 'joiner', keyEstablishment, testHarness: keyEstablishment && role === 'tc',
          eui64: id ? parseEui64(id.eui64) : EMULATED_EMBER_TC_EUI64,
          ...(id?.installCode ? { installCode: id.installCode } : {}),
        });
      } else {
        const id = role === 'dut' ? rig.roles.dut.identity : undefined;
        emu = new NrfZigbeeShellEmulator({ path: device, air, clock, eui64: id ? parseEui64(id.eui64) : EMULATED_TC_EUI64 });
      }
      plugged.push({ role, pair, emu, device });
      await emu.open();
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return {
    ports: Object.fromEntries(plugged.map((p) => [p.role, p.pair.a])),
    air,
    close: closeAll,
  };
}

function isDanglingLink(f: string): boolean {
  try {
    return fs.lstatSync(f).isSymbolicLink();
  } catch {
    return false;
  }
}
