// A TC and one or more devices on a MemoryNetwork, with TestCa certificates for both suites, the
// Key Establishment and Keep-Alive applications hosted on endpoint 1 of each node.
import { hexToBytes } from '../../../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, type CryptoSuite } from '../../../harness/crypto/cbke-suites.ts';
import { type IssueRequest, type IssuedCertificate, TestCa, deterministicRandom } from '../../../harness/crypto/test-ca.ts';
import { VirtualClock } from '../../../harness/sim/clock.ts';
import { KeyEstablishmentClient, type KeClientOptions, type KeCredential, KeyEstablishmentServer, type KeServerOptions } from '../../../harness/stack/apps/key-establishment.ts';
import { ZclEndpoint, type ZclCluster } from '../../../harness/stack/apps/zcl-endpoint.ts';
import type { Eui64 } from '../../../harness/zigbee/codec.ts';
import { MemoryJoinerControl, MemoryNetwork, type MemoryNode } from './aps-pair.ts';

export const TC_EUI: Eui64 = '000d6f00000000c0';
export const DEV_EUI: Eui64 = '000d6f0000000d01';
export const DEV2_EUI: Eui64 = '000d6f0000000d02';
/** The preconfigured (install-code) link key both ends hold before CBKE (protocol.md §8 spec test code). */
export const IC_KEY = hexToBytes('66b6900981e1ee3ca4206b6b861c02bb');
export const SE_ENDPOINT = 1;

const cas = new Map<number, TestCa>();
/** One deterministic CA per suite, shared by the tests (issuing is the slow part). */
export function testCa(suite: CryptoSuite): TestCa {
  let ca = cas.get(suite.id);
  if (!ca) {
    ca = new TestCa({ suite, random: deterministicRandom(`sehil-apps-ca-${suite.id}`) });
    cas.set(suite.id, ca);
  }
  return ca;
}

const issued = new Map<string, IssuedCertificate>();
export function issue(suite: CryptoSuite, eui: Eui64, extra: Partial<IssueRequest> = {}): IssuedCertificate {
  const key = `${suite.id}/${eui}/${JSON.stringify(extra, (_k, v) => (v instanceof Uint8Array ? [...v] : v))}`;
  let c = issued.get(key);
  if (!c) {
    c = testCa(suite).issue({ subject: hexToBytes(eui), serialNumber: suite.id === 2 ? hexToBytes(eui) : undefined, ...extra });
    issued.set(key, c);
  }
  return c;
}

export function credential(suite: CryptoSuite, cert: Pick<IssuedCertificate, 'certificate' | 'privateKey'>): KeCredential {
  return { suite, certificate: cert.certificate, privateKey: cert.privateKey, trustedCas: [testCa(suite).trusted()] };
}

export function credentials(eui: Eui64, suites: readonly CryptoSuite[] = [CRYPTO_SUITE_1, CRYPTO_SUITE_2]): KeCredential[] {
  return suites.map((s) => credential(s, issue(s, eui)));
}

export interface Device {
  node: MemoryNode;
  control: MemoryJoinerControl;
  client: KeyEstablishmentClient;
  endpoint: ZclEndpoint;
}

export interface Rig {
  clock: VirtualClock;
  net: MemoryNetwork;
  tc: MemoryNode;
  server: KeyEstablishmentServer;
  tcEndpoint: ZclEndpoint;
  dev: Device;
  addDevice(eui: Eui64, short: number, opts?: Partial<KeClientOptions>, extra?: (c: MemoryJoinerControl) => ZclCluster[]): Device;
}

export interface RigOptions {
  server?: Partial<KeServerOptions>;
  client?: Partial<KeClientOptions>;
  /** More clusters on the TC's / device's SE endpoint (Keep-Alive). */
  tcClusters?: ZclCluster[];
  devClusters?: (control: MemoryJoinerControl) => ZclCluster[];
}

export function makeRig(o: RigOptions = {}): Rig {
  const clock = new VirtualClock();
  const net = new MemoryNetwork(clock);
  const tc = net.addNode({ name: 'tc', eui64: TC_EUI, short: 0x0000 });
  const server = new KeyEstablishmentServer({ credentials: credentials(TC_EUI), random: deterministicRandom('tc-ephemeral'), ...o.server });
  const tcEndpoint = new ZclEndpoint({ endpoint: SE_ENDPOINT, clusters: [server, ...(o.tcClusters ?? [])] });
  tc.host(tcEndpoint);
  const addDevice = (eui: Eui64, short: number, opts: Partial<KeClientOptions> = {}, extra?: (c: MemoryJoinerControl) => ZclCluster[]): Device => {
    const node = net.addNode({ name: eui === DEV_EUI ? 'dev' : `dev-${eui.slice(-4)}`, eui64: eui, short });
    const control = new MemoryJoinerControl(node, tc);
    const client = new KeyEstablishmentClient({
      credentials: credentials(eui), control, server: { endpoint: SE_ENDPOINT }, random: deterministicRandom(`dev-ephemeral-${eui}`), ...opts,
    });
    const endpoint = new ZclEndpoint({ endpoint: SE_ENDPOINT, clusters: [client, ...(extra?.(control) ?? [])] });
    node.host(endpoint);
    // Both ends start with the install-code key (protocol.md §7.2); CBKE replaces it.
    node.setLinkKey(TC_EUI, IC_KEY, 'install-code');
    tc.setLinkKey(eui, IC_KEY, 'install-code');
    return { node, control, client, endpoint };
  };
  const dev = addDevice(DEV_EUI, 0x1234, o.client, o.devClusters);
  return { clock, net, tc, server, tcEndpoint, dev, addDevice };
}

export { CRYPTO_SUITE_1, CRYPTO_SUITE_2 };
