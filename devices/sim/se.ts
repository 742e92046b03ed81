// Smart Energy on the `sim` driver: the simulated TC hosts the Key Establishment server and the
// simulated DUT the KE client (harness/stack/smart-energy.ts), so CBKE runs for real over the
// virtual air and its key lands in the TC's key table (kind 'cbke', which the fixture's keyring
// files as 'tc-cbke'). Certificates: the DUT's come from the rig (roles.dut.identity.certificates)
// when given, else from a deterministic test CA of this file for its EUI-64; the TC's from the
// same CA. Both ends trust that CA and the published Certicom test CA (where product test
// certificates come from).
// @spec SE 1.x 07-5356 Annex C.3.1, C.4.2; shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.3, §6.4
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, type CryptoSuite } from '../../harness/crypto/cbke-suites.ts';
import { TestCa, certicomTestCa, deterministicRandom, type IssuedCertificate } from '../../harness/crypto/test-ca.ts';
import type { CbkeSuite, JoinOptions, JoinResult, KeyEstablishmentResult } from '../../harness/rig/roles.ts';
import type { KeCredential, KeOutcome } from '../../harness/stack/apps/key-establishment.ts';
import type { KeepAliveParams } from '../../harness/stack/apps/keep-alive-params.ts';
import type { Joiner as StackJoiner } from '../../harness/stack/joiner.ts';
import { hostSeDevice, hostSeTrustCenter, type SeDevice, type SeTrustCenter } from '../../harness/stack/smart-energy.ts';
import type { TrustCenter as StackTrustCenter } from '../../harness/stack/trust-center.ts';
import type { Eui64 } from '../../harness/zigbee/codec.ts';

const SUITES: Record<CbkeSuite, CryptoSuite> = { 1: CRYPTO_SUITE_1, 2: CRYPTO_SUITE_2 };
export const ALL_CBKE_SUITES: readonly CbkeSuite[] = [1, 2];

/** Certificates a rig file gives for a DUT (schema: roles.dut.identity.certificates), hex. */
export interface SimCertificates {
  suite1?: { certificate: string; privateKey: string };
  suite2?: { certificate: string; privateKey: string };
}

const cas = new Map<number, TestCa>();
/** The simulator's CA per suite: deterministic, so every run issues the same certificates. */
export function simTestCa(suite: CbkeSuite): TestCa {
  let ca = cas.get(suite);
  if (!ca) {
    ca = new TestCa({ suite: SUITES[suite], random: deterministicRandom(`sehil-sim-ca-${suite}`) });
    cas.set(suite, ca);
  }
  return ca;
}

const issued = new Map<string, IssuedCertificate>();
/** The simulator CA's certificate for `eui64` (cached: issuing is the slow part). */
export function simCertificate(suite: CbkeSuite, eui64: Eui64): IssuedCertificate {
  const key = `${suite}/${eui64}`;
  let c = issued.get(key);
  if (!c) {
    c = simTestCa(suite).issue({ subject: hexToBytes(eui64), serialNumber: suite === 2 ? hexToBytes(eui64) : undefined });
    issued.set(key, c);
  }
  return c;
}

function trustedCas(suite: CbkeSuite) {
  return [simTestCa(suite).trusted('sehil simulator test CA'), certicomTestCa(suite)];
}

/**
 * One credential per suite: the rig's certificates when it gives any (then only the suites it
 * gives), else the simulator CA's for `eui64`; restricted to `suites`.
 */
export function simCredentials(eui64: Eui64, suites: readonly CbkeSuite[] = ALL_CBKE_SUITES, given?: SimCertificates): KeCredential[] {
  const out: KeCredential[] = [];
  for (const id of suites) {
    const g = given ? given[id === 1 ? 'suite1' : 'suite2'] : undefined;
    if (given && !g) continue;
    const cert = g ? { certificate: hexToBytes(g.certificate), privateKey: hexToBytes(g.privateKey) } : simCertificate(id, eui64);
    out.push({ suite: SUITES[id], certificate: cert.certificate, privateKey: cert.privateKey, trustedCas: trustedCas(id) });
  }
  return out;
}

/** A stack outcome as the role interface reports it. */
export function keResult(o: KeOutcome): KeyEstablishmentResult {
  if (o.ok) return { ok: true, suite: o.suite, terminate: 'none', partner: o.partner };
  return {
    ok: false, suite: o.suite, status: o.status, statusName: o.statusName, terminate: o.terminate,
    reason: `${o.reason} (${o.step}): ${o.message}`, partner: o.partner,
  };
}

/**
 * The KE server and the Keep-Alive server (cluster 0x0025, values of the TC profile; none for the
 * no-keepalive profile) on a simulated TC node; re-hosted when the offered suites change.
 */
export class SimSeTrustCenter {
  private se: SeTrustCenter;
  private readonly earlier: KeOutcome[] = [];
  /** Keep-Alive values set for this test (setKeepAlive); else the profile's. */
  private keepAlive: KeepAliveParams | undefined;
  private offAir: { channel: number } | undefined;

  constructor(private readonly tc: StackTrustCenter) {
    this.se = this.host(ALL_CBKE_SUITES);
  }

  private host(suites: readonly CbkeSuite[]): SeTrustCenter {
    return hostSeTrustCenter(this.tc, {
      credentials: simCredentials(this.tc.eui64, suites), random: deterministicRandom('sehil-sim-tc-ke'), keepAlive: this.keepAlive ?? true,
      // The TC profiles with a broken certificate (cbke-subject-mismatch-cert, …) have the sim CA issue it.
      keyEstablishment: { issuingCa: (s) => simTestCa(s.id as CbkeSuite) },
    });
  }

  offer(suites: readonly CbkeSuite[]): void {
    if (!suites.length) throw new RangeError('tc: offer at least one CBKE suite (1 or 2)');
    this.earlier.push(...this.se.outcomes);
    this.se.remove();
    this.se = this.host(suites);
  }

  results(): KeyEstablishmentResult[] {
    return [...this.earlier, ...this.se.outcomes].map(keResult);
  }

  /**
   * TC Keep-Alive Base / Jitter served from now on. A TC profile without Keep-Alive (no-keepalive)
   * keeps serving none: the known-bad behaviour stays what the profile says.
   */
  setKeepAlive(p: KeepAliveParams): void {
    this.keepAlive = { ...p };
    this.se.keepAlive?.setParameters(p);
  }

  /** The Keep-Alive values the TC serves now (undefined: no Keep-Alive server). */
  get keepAliveParameters(): KeepAliveParams | undefined {
    return this.se.keepAlive?.parameters;
  }

  /**
   * Off the air (false) and back (true), state kept: as a TC that is powered down or out of range
   * and comes back. The radio moves to another channel, so nothing on the network's channel hears
   * it and it hears nothing there (the sniffer neither).
   */
  setReachable(on: boolean): void {
    const mac = this.tc.node.mac;
    if (!on && !this.offAir) {
      this.offAir = { channel: mac.channel };
      mac.channel = mac.channel === 26 ? 25 : 26;
      this.tc.node.ctx.trace('sim.tc-off-air', { channel: this.offAir.channel });
    } else if (on && this.offAir) {
      mac.channel = this.offAir.channel;
      this.tc.node.ctx.trace('sim.tc-on-air', { channel: this.offAir.channel });
      this.offAir = undefined;
    }
  }
}

const tcs = new WeakMap<StackTrustCenter, SimSeTrustCenter>();
/** The SE side of a simulated TC node, hosted on first use (form() does it). */
export function simSeTrustCenter(tc: StackTrustCenter): SimSeTrustCenter {
  let s = tcs.get(tc);
  if (!s) {
    s = new SimSeTrustCenter(tc);
    tcs.set(tc, s);
  }
  return s;
}

/**
 * The KE client (and, when the device declares keepalive-client, the Keep-Alive client with
 * Trust Center Swap-Out, started on every network-up) on a simulated DUT node; re-hosted when a
 * suite restriction changes.
 */
export class SimSeJoiner {
  private se!: SeDevice;
  private suites: readonly CbkeSuite[];

  /** `offered`: the suites the device supports (its declared cbke-v1 / cbke-v2 capabilities). */
  constructor(
    private readonly joiner: StackJoiner, private readonly given: SimCertificates | undefined,
    private readonly offered: readonly CbkeSuite[] = ALL_CBKE_SUITES, private readonly opts: SimSeJoinerOptions = {},
  ) {
    this.suites = offered;
    this.se = this.host();
  }

  private host(resumeKeepAlive = false): SeDevice {
    const credentials = simCredentials(this.joiner.eui64, this.suites, this.given);
    // tclkExchange: true = leave the joiner's TC link key mode alone; an SE join sets it (join()).
    const se = hostSeDevice(this.joiner, {
      credentials, random: deterministicRandom('sehil-sim-dut-ke'), tclkExchange: true,
      // Its own jitter source: the KE ephemeral keys stay those of a run without Keep-Alive.
      keepAlive: this.opts.keepAlive ? { random: deterministicRandom('sehil-sim-dut-keepalive') } : false,
    });
    // Re-hosted while on the network (a suite restriction): the new client carries on polling.
    if (resumeKeepAlive && this.joiner.joined) se.keepAlive?.start();
    return se;
  }

  /** The Keep-Alive client's record (reads, TCSO events), when the device runs one. */
  get keepAlive() {
    return this.se.keepAlive;
  }

  private restrict(suites: readonly CbkeSuite[]): void {
    if (suites.join() === this.suites.join()) return;
    this.suites = suites;
    const polling = (this.se.keepAlive?.state ?? 'stopped') !== 'stopped';
    this.se.remove();
    this.se = this.host(polling);
  }

  /** Join; with `keyEstablishment` as an SE device (install-code key kept until CBKE replaces it). */
  async join(opts: JoinOptions): Promise<JoinResult> {
    const req = { channel: opts.channel ?? 11, panId: opts.panId, timeoutMs: opts.timeoutMs };
    this.joiner.behaviour = { ...this.joiner.behaviour, tclkMode: 'cbke' };
    if (opts.keyEstablishment === 'deferred') {
      const r = await this.joiner.join(req);
      return { joined: r.joined, shortAddress: r.shortAddress, reason: r.reason };
    }
    const r = await this.se.join(req);
    return {
      joined: r.joined, shortAddress: r.shortAddress, reason: r.reason,
      ...(r.keyEstablishment ? { keyEstablishment: keResult(r.keyEstablishment) } : {}),
    };
  }

  async start(opts: { suite?: CbkeSuite } = {}): Promise<KeyEstablishmentResult> {
    if (!this.joiner.joined) return { ok: false, terminate: 'none', reason: 'not on a network' };
    this.restrict(opts.suite ? [opts.suite] : this.offered);
    return keResult(await this.se.startKeyEstablishment());
  }
}

export interface SimSeJoinerOptions {
  /** Host the Keep-Alive client (capability keepalive-client). Default false. */
  keepAlive?: boolean;
}

const joiners = new WeakMap<StackJoiner, SimSeJoiner>();
/** The SE side of a simulated DUT node, hosted on first use. */
export function simSeJoiner(joiner: StackJoiner, given: SimCertificates | undefined, offered?: readonly CbkeSuite[], opts?: SimSeJoinerOptions): SimSeJoiner {
  let s = joiners.get(joiner);
  if (!s) {
    s = new SimSeJoiner(joiner, given, offered, opts);
    joiners.set(joiner, s);
  }
  return s;
}
