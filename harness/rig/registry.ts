// Driver registry and the opened rig. A rig file names a driver per role; this module turns that
// into live role objects (TrustCenter, Joiner, Sniffer) and answers the suites' capability
// questions. Suites see roles and capabilities only, never ports (OpenHTF/labgrid).
import { existsSync } from 'node:fs';
import { SimJoiner, SimSniffer, SimTrustCenter, SimWorld } from '../../devices/sim/driver.ts';
import { nrfSnifferFromRig } from '../../devices/nrf-sniffer/driver.ts';
import { OperatorJoiner } from '../../devices/operator/driver.ts';
import { RemoteJoiner, RemoteSniffer, RemoteTrustCenter } from '../../devices/remote/driver.ts';
import { nrfZigbeeShellFromRig } from '../../devices/nrf-zigbee-shell/driver.ts';
import { emberCliFromRig } from '../../devices/ember-cli/driver.ts';
import { RealClock, type Clock } from '../sim/clock.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import type { Capability } from './capabilities.ts';
import { RigUnavailableError, type DeviceInfo, type Joiner, type RoleBase, type Sniffer, type TrustCenter } from './roles.ts';
import type { RigFile, RoleConfig } from './schema.ts';

type RoleName = 'tc' | 'dut' | 'sniffer';

interface DriverContext {
  rig: RigFile;
  role: RoleName;
  config: RoleConfig;
  /** Shared by every sim role of the rig. */
  world: () => SimWorld;
  clock: Clock;
}

interface Driver {
  readonly name: string;
  /** Roles this driver can play. */
  readonly plays: readonly RoleName[];
  create(ctx: DriverContext): RoleBase;
}

const drivers = new Map<string, Driver>();

/** Adds a driver (devices/<driver> register themselves here or are listed below). */
export function registerDriver(d: Driver): void {
  drivers.set(d.name, d);
}

registerDriver({
  name: 'sim',
  plays: ['tc', 'dut', 'sniffer'],
  create({ rig, role, config, world }) {
    const profile = config.driver === 'sim' ? config.profile : 'compliant';
    if (role === 'tc') return new SimTrustCenter(world(), profile);
    if (role === 'sniffer') return new SimSniffer(world());
    const dut = rig.roles.dut;
    if (!dut.identity) throw new RigUnavailableError('dut', 'sim', 'roles.dut.identity (eui64, installCode) is required for a simulated DUT');
    return new SimJoiner(world(), profile, { eui64: dut.identity.eui64, installCode: dut.identity.installCode, certificates: dut.identity.certificates }, dut.capabilities, config.driver === 'sim' ? config.fault : undefined);
  },
});

registerDriver({
  name: 'nrf-sniffer',
  plays: ['sniffer'],
  create({ rig, config, clock }) {
    if (config.driver !== 'nrf-sniffer') throw new Error('unreachable');
    if (!existsSync(config.port)) {
      throw new RigUnavailableError('sniffer', config.port, 'no such serial device (is the nRF52840 dongle plugged in? `sehil devices` lists what is)');
    }
    return nrfSnifferFromRig(config, rig, clock);
  },
});

registerDriver({
  name: 'nrf-zigbee-shell',
  plays: ['tc', 'dut'],
  create({ rig, role, config, clock }) {
    if (config.driver !== 'nrf-zigbee-shell' || role === 'sniffer') throw new Error('unreachable');
    if (!existsSync(config.port)) {
      throw new RigUnavailableError(role, config.port, 'no such serial device (is the nRF52840 with the Zigbee shell plugged in? `sehil devices` lists what is)');
    }
    return nrfZigbeeShellFromRig(role, config, role === 'dut' ? rig.roles.dut.identity : undefined, clock, rig);
  },
});

registerDriver({
  name: 'ember-cli',
  plays: ['tc', 'dut'],
  create({ rig, role, config, clock }) {
    if (config.driver !== 'ember-cli' || role === 'sniffer') throw new Error('unreachable');
    if (!existsSync(config.port)) {
      throw new RigUnavailableError(role, config.port, 'no such serial device (is the EFR32 with an EmberZNet CLI application plugged in? `sehil devices` lists what is)');
    }
    return emberCliFromRig(role, config, role === 'dut' ? rig.roles.dut.identity : undefined, clock, rig);
  },
});

registerDriver({
  name: 'remote',
  plays: ['tc', 'dut', 'sniffer'],
  create({ rig, role, config, clock }) {
    if (config.driver !== 'remote') throw new Error('unreachable');
    if (role === 'tc') return new RemoteTrustCenter(config);
    if (role === 'sniffer') return new RemoteSniffer(config, clock);
    return new RemoteJoiner(config, rig.roles.dut.identity?.eui64);
  },
});

registerDriver({
  name: 'operator',
  plays: ['dut'],
  create({ rig, config }) {
    if (config.driver !== 'operator') throw new Error('unreachable');
    const dut = rig.roles.dut;
    if (!dut.identity) throw new RigUnavailableError('dut', 'operator', 'roles.dut.identity (at least eui64) is required: the kit must know which device to watch for');
    return new OperatorJoiner(dut.identity.eui64, config.promptTimeoutS, dut.capabilities);
  },
});

/** The rig a test sees: its roles, clock and radio settings. */
export interface Rig {
  readonly name: string;
  readonly file: string;
  readonly config: RigFile;
  readonly clock: Clock;
  readonly channel: number;
  readonly panId: number;
  readonly tc: TrustCenter;
  readonly dut: Joiner;
  readonly sniffer: Sniffer;
  readonly dutIdentity: { eui64: Eui64; installCode?: string };
  /** The simulated world when every role is simulated (sim-only checks use it). */
  readonly sim?: SimWorld;
  /** Why a test that needs these capabilities cannot run here, or undefined when it can. */
  lacks(needs: { dut?: readonly Capability[]; tc?: readonly Capability[] }): string | undefined;
  /** Puts the rig in a known state before a test: a fresh simulated world, or a DUT reset. */
  beginTest(): Promise<void>;
  probe(): Promise<{ role: RoleName; info?: DeviceInfo; error?: string }[]>;
  close(): Promise<void>;
}

/** A Clock that follows the current simulated world (each test gets a fresh one). */
class WorldClock implements Clock {
  constructor(private readonly world: SimWorld) {}
  now(): number {
    return this.world.clock.now();
  }
  sleep(ms: number): Promise<void> {
    return this.world.clock.sleep(ms);
  }
  setTimer(ms: number, fn: () => void): () => void {
    return this.world.clock.setTimer(ms, fn);
  }
}

/** Builds the role objects of a validated rig file and opens each device. */
export async function openRig(config: RigFile, file: string): Promise<Rig> {
  let world: SimWorld | undefined;
  const getWorld = () => (world ??= new SimWorld(config.clock));
  const allSim = Object.values(config.roles).every((r) => r.driver === 'sim');
  const clock: Clock = allSim ? new WorldClock(getWorld()) : new RealClock();
  const make = (role: RoleName): RoleBase => {
    const rc = config.roles[role] as RoleConfig;
    const d = drivers.get(rc.driver);
    if (!d) throw new RigUnavailableError(role, rc.driver, `driver "${rc.driver}" is not part of this build (available: ${[...drivers.keys()].join(', ')})`);
    if (!d.plays.includes(role)) throw new RigUnavailableError(role, rc.driver, `driver "${rc.driver}" cannot play the ${role} role (it plays ${d.plays.join(', ')})`);
    return d.create({ rig: config, role, config: rc, world: getWorld, clock });
  };
  const tc = make('tc') as TrustCenter;
  const dut = make('dut') as Joiner;
  const sniffer = make('sniffer') as Sniffer;
  const roles: [RoleName, RoleBase][] = [['tc', tc], ['dut', dut], ['sniffer', sniffer]];
  const opened: RoleBase[] = [];
  try {
    for (const [, r] of roles) {
      await r.open();
      opened.push(r);
    }
  } catch (e) {
    for (const r of opened) await r.close().catch(() => {});
    throw e;
  }
  const identity = config.roles.dut.identity;
  return {
    name: config.name,
    file,
    config,
    clock,
    channel: config.channel,
    panId: config.panId,
    tc, dut, sniffer,
    dutIdentity: { eui64: identity?.eui64 ?? dut.eui64, installCode: identity?.installCode },
    sim: allSim ? getWorld() : undefined,
    lacks(needs) {
      const missing = [
        ...(needs.dut ?? []).filter((c) => !dut.capabilities.has(c)).map((c) => `DUT lacks ${c}`),
        ...(needs.tc ?? []).filter((c) => !tc.capabilities.has(c)).map((c) => `TC lacks ${c}`),
      ];
      return missing.length ? `${missing.join(', ')} (rig ${config.name})` : undefined;
    },
    async beginTest() {
      if (world) world.renew();
      else await dut.reset();
    },
    async probe() {
      const out: { role: RoleName; info?: DeviceInfo; error?: string }[] = [];
      for (const [role, r] of roles) {
        try {
          out.push({ role, info: await r.probe() });
        } catch (e) {
          out.push({ role, error: (e as Error).message });
        }
      }
      return out;
    },
    async close() {
      for (const [, r] of roles) await r.close().catch(() => {});
      world?.stopAll();
    },
  };
}
