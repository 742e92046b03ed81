// A capture-worth of frames covering every kind the dissector knows — MAC beacons, acks and
// commands, each NWK command, APS data / acks / every command (Transport Key of the three key
// types, Tunnel, Verify / Confirm Key …), ZDP, ZCL and both Key Establishment suites, Keep-Alive —
// secured and not, plus frames no key opens, a tampered MIC, an APS frame without extended nonce,
// and a network key handed out by Transport Key and then used. Each case says which key should
// open each secured layer, so the dissector test and the tshark cross-check share one truth.
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey, deriveVerifyKeyHash } from '../../harness/crypto/hmac-mmo.ts';
import { encodeApsCommand, type ApsCommand } from '../../harness/zigbee/aps.ts';
import { encodeKeyEstablishmentCommand, type KeyEstablishmentCommand } from '../../harness/zigbee/clusters/key-establishment.ts';
import { ByteWriter, eui64ToAir, type Eui64 } from '../../harness/zigbee/codec.ts';
import { crc16Kermit, decodeCapability, type MacCommand } from '../../harness/zigbee/ieee802154.ts';
import { encodeNwkCommand, type NwkCommand } from '../../harness/zigbee/nwk.ts';
import { encodeZclFrame, encodeZclHeader, type ZclFrame, type ZclHeader } from '../../harness/zigbee/zcl.ts';
import { encodeZdp, type ZdpCommand } from '../../harness/zigbee/zdo.ts';
import appVectors from '../../vectors/zigbee-app-frames.json' with { type: 'json' };
import {
  apsCommandHeader, apsDataHeader, apsFrame, concat, D1, D2, D2_LINK_KEY, EPID, macData, macFrame, macHeader, NWK_KEY, NWK_KEY_2,
  nwkFrame, nwkHeader, PAN, R1, TC, ZA09, type ApsSecurity, type Party,
} from './zigbee-traffic.ts';

/** Labels the keyring (and the Wireshark key file) give the keys the capture starts with. */
export const LABELS = { nwk: 'nwk#0', za09: 'ZigBeeAlliance09', d2: 'ic@00124b0001020304' } as const;

/** The key that should open a layer: its label (and origin), or null when none should. */
export interface KeyExpect {
  label: string | null;
  origin?: 'explicit' | 'install-code' | 'learned' | 'well-known';
  /** For learned keys: the name of the case that carried it. */
  learnedFrom?: string;
}

export interface FrameCase {
  name: string;
  /** 1-based frame number in the capture. */
  index: number;
  /** PSDU with FCS. */
  psdu: Uint8Array;
  nwk?: KeyExpect;
  aps?: KeyExpect;
  /** The APS frame inside a Tunnel. */
  tunnel?: KeyExpect;
}

/** A TC link key the TC hands D1 (key type 0x04), and an application link key D1 ↔ D2 (0x03). */
export const D1_TCLK = hexToBytes('c0ffee00112233445566778899aabbcc');
export const APP_KEY = hexToBytes('a1a2a3a4a5a6a7a8a9aaabacadaeafb0');

const key = (label: string, origin: KeyExpect['origin'], learnedFrom?: string): KeyExpect => ({ label, origin, ...(learnedFrom ? { learnedFrom } : {}) });
const NWK0 = key(LABELS.nwk, 'explicit');
/** Learned from the Transport Key inside the Tunnel (the first frame that carried it). */
const NWK1 = key('nwk#1', 'learned', 'aps-tunnel');
const ZA = key(LABELS.za09, 'well-known');
const IC = key(LABELS.d2, 'install-code');
const NONE: KeyExpect = { label: null };

/** Suite-2 certificates and points need only their lengths here (Wireshark shows them as bytes). */
function filler(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + 37 * i) & 0xff);
}

function vectorHex(name: string): Uint8Array {
  const v = appVectors.vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return hexToBytes(v.hex);
}

/** Which network key seals the NWK layer (default: the key the capture starts with, sequence 0), or none. */
interface NwkKeyOpts {
  secure?: boolean;
  nwkKey?: Uint8Array;
  keySeq?: number;
}

class CorpusBuilder {
  readonly cases: FrameCase[] = [];
  private macSeq = 0;
  private nwkSeq = 0;
  private apsCounter = 0;
  private tsn = 0;
  private readonly counters = new Map<string, number>();

  /** Next frame counter of `eui` for a layer (NWK and APS counters are separate here). */
  fc(eui: Eui64, layer: 'nwk' | 'aps'): number {
    const k = `${layer}:${eui}`;
    const n = (this.counters.get(k) ?? 0x1000) + 1;
    this.counters.set(k, n);
    return n;
  }

  nextTsn(): number {
    return (this.tsn = (this.tsn + 1) & 0xff);
  }

  nextAps(): number {
    return (this.apsCounter = (this.apsCounter + 1) & 0xff);
  }

  add(c: Omit<FrameCase, 'index'>): void {
    this.cases.push({ ...c, index: this.cases.length + 1 });
  }

  mac(name: string, psdu: Uint8Array): void {
    this.add({ name, psdu });
  }

  macSeqNext(): number {
    return (this.macSeq = (this.macSeq + 1) & 0xff);
  }

  /**
   * One NWK frame over one hop `hop.from → hop.to` (MAC addresses), NWK `src → dst`. Secured with
   * `nwkKey` (default the network key, sequence 0) unless `secure` is false.
   */
  nwk(
    name: string,
    o: {
      src: Party; dst: Party | number; payload: Uint8Array; frameType?: number; hopFrom?: Party; hopTo?: number;
      secure?: boolean; nwkKey?: Uint8Array; keySeq?: number; src64?: boolean; dst64?: boolean; radius?: number;
    },
    expect: Pick<FrameCase, 'nwk' | 'aps' | 'tunnel'>,
  ): Uint8Array {
    const dst16 = typeof o.dst === 'number' ? o.dst : o.dst.short;
    const hopFrom = o.hopFrom ?? o.src;
    const hopTo = o.hopTo ?? (dst16 >= 0xfff8 ? 0xffff : dst16);
    const h = nwkHeader({
      frameType: o.frameType ?? 0, src16: o.src.short, dst16, seq: (this.nwkSeq = (this.nwkSeq + 1) & 0xff), radius: o.radius ?? 30,
      discoverRoute: o.frameType === 1 ? 0 : 1,
      src64: o.src64 ? o.src.eui64 : undefined,
      dst64: o.dst64 && typeof o.dst !== 'number' ? o.dst.eui64 : undefined,
    });
    const secure = o.secure ?? true;
    const nwk = nwkFrame(h, o.payload, secure ? { key: o.nwkKey ?? NWK_KEY, keySeq: o.keySeq ?? 0, frameCounter: this.fc(hopFrom.eui64, 'nwk'), source64: hopFrom.eui64 } : undefined);
    const psdu = macData(hopFrom.short, hopTo, this.macSeqNext(), nwk);
    this.add({ name, psdu, ...(secure ? { nwk: expect.nwk ?? NWK0 } : {}), ...(expect.aps ? { aps: expect.aps } : {}), ...(expect.tunnel ? { tunnel: expect.tunnel } : {}) });
    return psdu;
  }

  nwkCommand(name: string, src: Party, dst: Party | number, c: NwkCommand, o: { secure?: boolean; src64?: boolean; dst64?: boolean; radius?: number; hopFrom?: Party } = {}): void {
    this.nwk(name, { src, dst, payload: encodeNwkCommand(c), frameType: 1, ...o }, {});
  }

  /** APS command from `src` to `dst`, APS-secured when `sec` is given. */
  apsCommand(name: string, src: Party, dst: Party | number, c: ApsCommand, sec: ApsSecurity | undefined, expect: Pick<FrameCase, 'nwk' | 'aps'>, o: NwkKeyOpts = {}): void {
    const aps = apsFrame(apsCommandHeader(this.nextAps()), encodeApsCommand(c), sec);
    this.nwk(name, { src, dst, payload: aps, ...o }, expect);
  }

  zdo(name: string, src: Party, dst: Party | number, cluster: number, command: ZdpCommand | Uint8Array, o: NwkKeyOpts = {}, expect: Pick<FrameCase, 'nwk'> = {}): void {
    const body = command instanceof Uint8Array ? concat(Uint8Array.of(this.nextTsn()), command) : encodeZdp({ clusterId: cluster, tsn: this.nextTsn(), command });
    const aps = apsFrame(apsDataHeader({ cluster, profile: 0x0000, counter: this.nextAps(), dstEndpoint: 0, srcEndpoint: 0, deliveryMode: typeof dst === 'number' && dst >= 0xfff8 ? 2 : 0 }), body);
    this.nwk(name, { src, dst, payload: aps, ...o }, expect);
  }

  zcl(name: string, src: Party, dst: Party, cluster: number, zcl: Uint8Array, sec?: ApsSecurity): void {
    const aps = apsFrame(apsDataHeader({ cluster, profile: 0x0109, counter: this.nextAps(), dstEndpoint: 1, srcEndpoint: 1 }), zcl, sec);
    this.nwk(name, { src, dst, payload: aps }, sec ? { aps: sec.keyId === 0 ? ZA : NONE } : {});
  }

  /** APS security with the link key `link` of the sender for key id `keyId` (derived as 2/3 need). */
  sec(link: Uint8Array, keyId: 0 | 2 | 3, source: Party, extendedNonce = true): ApsSecurity {
    const k = keyId === 2 ? deriveKeyTransportKey(link) : keyId === 3 ? deriveKeyLoadKey(link) : link;
    return { key: k, keyId, frameCounter: this.fc(source.eui64, 'aps'), source64: source.eui64, extendedNonce };
  }
}

function zclHeader(h: Partial<ZclHeader> & Pick<ZclHeader, 'commandId' | 'tsn'>): ZclHeader {
  return { frameType: 1, direction: 'client-to-server', disableDefaultResponse: false, reserved: 0, ...h };
}

function keFrame(b: CorpusBuilder, direction: ZclHeader['direction'], c: KeyEstablishmentCommand, commandId: number): Uint8Array {
  const w = encodeZclHeader(zclHeader({ commandId, tsn: b.nextTsn(), direction, disableDefaultResponse: direction === 'server-to-client' }), new ByteWriter(96));
  return w.bytes(encodeKeyEstablishmentCommand(c)).finish();
}

/** Builds the corpus. Deterministic: the same bytes every run. */
export function frameKinds(): FrameCase[] {
  const b = new CorpusBuilder();

  // ---- MAC -------------------------------------------------------------------------------------
  b.mac('mac-beacon-request', macFrame(macHeader({ frameType: 3, seq: b.macSeqNext(), dstAddrMode: 2, dstPan: 0xffff, dst: 0xffff }), { kind: 'command', command: { kind: 'beaconRequest' } }));
  b.mac('mac-beacon',
    macFrame(macHeader({ frameType: 0, seq: b.macSeqNext(), srcAddrMode: 2, srcPan: PAN, src: TC.short }), {
      kind: 'beacon',
      superframe: { beaconOrder: 15, superframeOrder: 15, finalCapSlot: 15, batteryLifeExtension: false, panCoordinator: true, associationPermit: true },
      gts: { permit: false, descriptors: [] },
      pending: { short: [], extended: [] },
      zigbee: { stackProfile: 2, protocolVersion: 2, routerCapacity: true, deviceDepth: 0, endDeviceCapacity: true, extendedPanId: EPID, txOffset: 0xffffff, updateId: 0 },
    }),
  );
  const macCmd = (name: string, h: Parameters<typeof macHeader>[0], command: MacCommand) => b.mac(name, macFrame(macHeader(h), { kind: 'command', command }));
  macCmd('mac-association-request', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, dstAddrMode: 2, dstPan: PAN, dst: TC.short, srcAddrMode: 3, srcPan: 0xffff, src: D1.eui64 },
    { kind: 'associationRequest', capability: decodeCapability(0x8e) });
  b.mac('mac-ack', macFrame(macHeader({ frameType: 2, seq: 3 }), { kind: 'ack' }));
  macCmd('mac-data-request', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, panIdCompression: true, dstAddrMode: 2, dstPan: PAN, dst: TC.short, srcAddrMode: 3, src: D1.eui64 }, { kind: 'dataRequest' });
  macCmd('mac-association-response', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, panIdCompression: true, dstAddrMode: 3, dstPan: PAN, dst: D1.eui64, srcAddrMode: 3, src: TC.eui64 },
    { kind: 'associationResponse', shortAddress: D1.short, status: 0 });
  macCmd('mac-data-request-short', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, panIdCompression: true, dstAddrMode: 2, dstPan: PAN, dst: TC.short, srcAddrMode: 2, src: D1.short }, { kind: 'dataRequest' });
  macCmd('mac-disassociation', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, panIdCompression: true, dstAddrMode: 3, dstPan: PAN, dst: TC.eui64, srcAddrMode: 3, src: R1.eui64 }, { kind: 'disassociation', reason: 2 });
  macCmd('mac-orphan', { frameType: 3, seq: b.macSeqNext(), dstAddrMode: 2, dstPan: 0xffff, dst: 0xffff, srcAddrMode: 3, srcPan: 0xffff, src: R1.eui64 }, { kind: 'orphan' });
  macCmd('mac-coordinator-realignment', { frameType: 3, seq: b.macSeqNext(), dstAddrMode: 3, dstPan: 0xffff, dst: R1.eui64, srcAddrMode: 3, srcPan: PAN, src: TC.eui64 },
    { kind: 'coordinatorRealignment', panId: PAN, coordinatorShortAddress: TC.short, channel: 15, shortAddress: R1.short });
  macCmd('mac-pan-id-conflict', { frameType: 3, seq: b.macSeqNext(), ackRequest: true, panIdCompression: true, dstAddrMode: 3, dstPan: PAN, dst: TC.eui64, srcAddrMode: 3, src: R1.eui64 }, { kind: 'panIdConflict' });

  // ---- APS join of D1 (NET2-like): Transport Key of the network key, NWK unsecured -------------
  b.apsCommand('aps-tk-nwk', TC, D1, { type: 'transportKey', keyType: 0x01, descriptor: { layout: 'network', key: NWK_KEY, keySeq: 0, dst64: D1.eui64, src64: TC.eui64 } },
    b.sec(ZA09, 2, TC), { aps: ZA }, { secure: false });
  b.zdo('zdo-device-annce', D1, 0xfffd, 0x0013, { type: 'Device_annce', nwkAddress: D1.short, ieeeAddress: D1.eui64, capability: 0x8e });
  b.apsCommand('aps-request-key-tclk', D1, TC, { type: 'requestKey', keyType: 0x04 }, b.sec(ZA09, 0, D1), { aps: ZA });
  b.apsCommand('aps-tk-tclk', TC, D1, { type: 'transportKey', keyType: 0x04, descriptor: { layout: 'trustCenter', key: D1_TCLK, dst64: D1.eui64, src64: TC.eui64 } },
    b.sec(ZA09, 3, TC), { aps: ZA });
  const tclk = key(`tclk@${D1.eui64}`, 'learned', 'aps-tk-tclk');
  b.apsCommand('aps-verify-key', D1, TC, { type: 'verifyKey', keyType: 0x04, src64: D1.eui64, keyHash: deriveVerifyKeyHash(D1_TCLK) }, undefined, {});
  b.apsCommand('aps-confirm-key', TC, D1, { type: 'confirmKey', status: 0, keyType: 0x04, dst64: D1.eui64 }, b.sec(D1_TCLK, 0, TC), { aps: tclk });
  b.apsCommand('aps-request-key-app', D1, TC, { type: 'requestKey', keyType: 0x02, partner64: D2.eui64 }, b.sec(D1_TCLK, 0, D1), { aps: tclk });
  b.apsCommand('aps-tk-app-link', TC, D1, { type: 'transportKey', keyType: 0x03, descriptor: { layout: 'application', key: APP_KEY, partner64: D2.eui64, initiatorFlag: 1 } },
    b.sec(D1_TCLK, 3, TC), { aps: tclk });
  // Without extended nonce: the nonce source is D1, known from the NWK aux headers it sent.
  b.apsCommand('aps-request-key-no-ext-nonce', D1, TC, { type: 'requestKey', keyType: 0x04 }, b.sec(D1_TCLK, 0, D1, false), { aps: tclk });

  // ---- Router R1, Update / Remove Device, and D2 joining through it with an install code -------
  b.zdo('zdo-device-annce-r1', R1, 0xfffd, 0x0013, { type: 'Device_annce', nwkAddress: R1.short, ieeeAddress: R1.eui64, capability: 0x8e });
  b.apsCommand('aps-update-device', R1, TC, { type: 'updateDevice', device64: D2.eui64, device16: D2.short, status: 1 }, b.sec(ZA09, 0, R1), { aps: ZA });
  // The key update: TC tunnels TK(next network key, seq 1) for D2 under D2's install-code key.
  const tk2 = encodeApsCommand({ type: 'transportKey', keyType: 0x01, descriptor: { layout: 'network', key: NWK_KEY_2, keySeq: 1, dst64: D2.eui64, src64: TC.eui64 } });
  const inner = apsFrame(apsCommandHeader(b.nextAps()), tk2, b.sec(D2_LINK_KEY, 2, TC));
  b.nwk('aps-tunnel', { src: TC, dst: R1, payload: apsFrame(apsCommandHeader(b.nextAps()), concat(Uint8Array.of(0x0e), eui64ToAir(D2.eui64), inner)) }, { tunnel: IC });
  b.nwk('aps-tk-nwk-forwarded', { src: R1, dst: D2, payload: inner, secure: false }, { aps: IC });
  b.apsCommand('aps-remove-device', TC, R1, { type: 'removeDevice', target64: D2.eui64 }, b.sec(ZA09, 0, TC), { aps: ZA });
  b.apsCommand('aps-switch-key', TC, 0xfffd, { type: 'switchKey', keySeq: 1 }, undefined, {});
  // From now on the network runs on the learned key (sequence 1).
  const key1 = { nwkKey: NWK_KEY_2, keySeq: 1 };
  b.zdo('zdo-device-annce-d2', D2, 0xfffd, 0x0013, { type: 'Device_annce', nwkAddress: D2.short, ieeeAddress: D2.eui64, capability: 0x80 }, key1, { nwk: NWK1 });
  b.apsCommand('aps-request-key-d2', D2, TC, { type: 'requestKey', keyType: 0x04 }, b.sec(D2_LINK_KEY, 0, D2), { nwk: NWK1, aps: IC }, key1);

  // ---- NWK commands (network key sequence 0 again for simplicity of the key file) --------------
  b.nwkCommand('nwk-route-request-mto', TC, 0xfffc, { kind: 'routeRequest', manyToOne: 1, multicast: false, routeRequestId: 5, dst16: 0xfffc, pathCost: 0 });
  b.nwkCommand('nwk-route-request-ext', R1, 0xfffc, { kind: 'routeRequest', manyToOne: 0, multicast: false, routeRequestId: 6, dst16: D1.short, pathCost: 1, dst64: D1.eui64 });
  b.nwkCommand('nwk-route-reply', D1, R1, { kind: 'routeReply', multicast: false, routeRequestId: 6, originator16: R1.short, responder16: D1.short, pathCost: 3, originator64: R1.eui64, responder64: D1.eui64 });
  b.nwkCommand('nwk-network-status', R1, TC, { kind: 'networkStatus', status: 0x0b, destination: D1.short });
  b.nwkCommand('nwk-network-status-unknown-cmd', R1, TC, { kind: 'networkStatus', status: 0x13, destination: D1.short, unknownCommandId: 0x0e });
  b.nwkCommand('nwk-leave-request', TC, D1, { kind: 'leave', rejoin: true, request: true, removeChildren: false });
  b.nwkCommand('nwk-leave-announce', D1, 0xfffd, { kind: 'leave', rejoin: false, request: false, removeChildren: false }, { src64: true, radius: 1 });
  b.nwkCommand('nwk-route-record-relayed', D1, TC, { kind: 'routeRecord', relays: [R1.short] }, { hopFrom: R1 });
  b.nwkCommand('nwk-rejoin-request', D1, TC, { kind: 'rejoinRequest', capability: decodeCapability(0x80) }, { src64: true, dst64: true, radius: 1 });
  b.nwkCommand('nwk-rejoin-request-tc', D1, TC, { kind: 'rejoinRequest', capability: decodeCapability(0x80) }, { secure: false, src64: true, radius: 1 });
  b.nwkCommand('nwk-rejoin-response', TC, D1, { kind: 'rejoinResponse', nwkAddress: D1.short, status: 0 }, { src64: true, dst64: true });
  b.nwkCommand('nwk-link-status', R1, 0xfffc, { kind: 'linkStatus', firstFrame: true, lastFrame: true, links: [{ address: TC.short, incomingCost: 1, outgoingCost: 1 }, { address: D1.short, incomingCost: 3, outgoingCost: 5 }] }, { radius: 1 });
  b.nwkCommand('nwk-network-report', R1, TC, { kind: 'networkReport', reportType: 0, extendedPanId: EPID, panIds: [0x1a65] });
  b.nwkCommand('nwk-network-update', TC, 0xffff, { kind: 'networkUpdate', updateType: 0, extendedPanId: EPID, updateId: 1, newPanId: 0x1a66 });
  b.nwkCommand('nwk-ed-timeout-request', D1, R1, { kind: 'endDeviceTimeoutRequest', requestedTimeout: 8, configuration: 0 });
  b.nwkCommand('nwk-ed-timeout-response', R1, D1, { kind: 'endDeviceTimeoutResponse', status: 0, macDataPollKeepalive: true, timeoutRequestKeepalive: true, powerNegotiation: false });

  // ---- APS acks ------------------------------------------------------------------------------------
  b.nwk('aps-ack-data', { src: D1, dst: TC, payload: apsFrame({ frameType: 2, deliveryMode: 0, ackFormat: false, security: false, ackRequest: false, dstEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, srcEndpoint: 1, counter: 0x42 }, new Uint8Array(0)) }, {});
  b.nwk('aps-ack-command', { src: D1, dst: TC, payload: apsFrame({ frameType: 2, deliveryMode: 0, ackFormat: true, security: false, ackRequest: false, counter: 0x43 }, new Uint8Array(0)) }, {});

  // ---- ZDP -------------------------------------------------------------------------------------
  b.zdo('zdo-node-desc-req', TC, D1, 0x0002, { type: 'Node_Desc_req', nwkAddrOfInterest: D1.short });
  b.zdo('zdo-node-desc-rsp', D1, TC, 0x8002, vectorHex('r22-tc-node-desc-rsp-zdp').subarray(1));
  b.zdo('zdo-simple-desc-req', TC, D1, 0x0004, { type: 'Simple_Desc_req', nwkAddrOfInterest: D1.short, endpoint: 1 });
  b.zdo('zdo-simple-desc-rsp', D1, TC, 0x8004, {
    type: 'Simple_Desc_rsp', status: 0, nwkAddrOfInterest: D1.short,
    simpleDescriptor: { endpoint: 1, profileId: 0x0109, deviceId: 0x0501, deviceVersion: 1, reserved: 0, inClusters: [0x0000, 0x0800], outClusters: [0x0025] },
  });
  b.zdo('zdo-active-ep-req', TC, D1, 0x0005, { type: 'Active_EP_req', nwkAddrOfInterest: D1.short });
  b.zdo('zdo-active-ep-rsp', D1, TC, 0x8005, { type: 'Active_EP_rsp', status: 0, nwkAddrOfInterest: D1.short, endpoints: [1, 2] });
  b.zdo('zdo-match-desc-req', D1, 0xfffd, 0x0006, vectorHex('se-match-desc-req-ke').subarray(1));
  b.zdo('zdo-match-desc-rsp', TC, D1, 0x8006, vectorHex('se-match-desc-rsp-ke').subarray(1));
  b.zdo('zdo-mgmt-leave-req', TC, R1, 0x0034, { type: 'Mgmt_Leave_req', deviceAddress: R1.eui64, rejoin: false, removeChildren: false, reserved: 0 });
  b.zdo('zdo-mgmt-leave-rsp', R1, TC, 0x8034, { type: 'Mgmt_Leave_rsp', status: 0 });
  b.zdo('zdo-mgmt-permit-joining', TC, 0xfffc, 0x0036, { type: 'Mgmt_Permit_Joining_req', permitDuration: 254, tcSignificance: 1 });

  // ---- ZCL: Keep-Alive (APS-secured with D1's key) and Default Response ------------------------
  b.zcl('zcl-keep-alive-read', D1, TC, 0x0025, vectorHex('keep-alive-read-request'), b.sec(D1_TCLK, 0, D1));
  b.cases.at(-1)!.aps = tclk;
  b.zcl('zcl-keep-alive-read-rsp', TC, D1, 0x0025, vectorHex('keep-alive-read-response-defaults'), b.sec(D1_TCLK, 0, TC));
  b.cases.at(-1)!.aps = tclk;
  const dflt: ZclFrame = { header: zclHeader({ frameType: 0, commandId: 0x0b, tsn: b.nextTsn(), direction: 'server-to-client', disableDefaultResponse: true }), command: { type: 'defaultResponse', commandId: 0x00, status: 0x86 } };
  b.zcl('zcl-default-response', TC, D1, 0x0025, encodeZclFrame(dflt));

  // ---- Key Establishment, suite 1 (SE Annex C.5/C.6 frames) and suite 2 ------------------------
  for (const suite of [1, 2] as const) {
    const cert = suite === 1 ? 48 : 74;
    const point = suite === 1 ? 22 : 37;
    const s = `ke${suite}`;
    b.zcl(`${s}-initiate-req`, D1, TC, 0x0800, keFrame(b, 'client-to-server', { type: 'initiateKeyEstablishment', suite, ephemeralDataGenerateTime: 3, confirmKeyGenerateTime: 6, identity: filler(cert, 1) }, 0));
    b.zcl(`${s}-initiate-rsp`, TC, D1, 0x0800, keFrame(b, 'server-to-client', { type: 'initiateKeyEstablishment', suite, ephemeralDataGenerateTime: 3, confirmKeyGenerateTime: 6, identity: filler(cert, 2) }, 0));
    b.zcl(`${s}-ephemeral-req`, D1, TC, 0x0800, keFrame(b, 'client-to-server', { type: 'ephemeralData', point: filler(point, 3) }, 1));
    b.zcl(`${s}-ephemeral-rsp`, TC, D1, 0x0800, keFrame(b, 'server-to-client', { type: 'ephemeralData', point: filler(point, 4) }, 1));
    b.zcl(`${s}-confirm-req`, D1, TC, 0x0800, keFrame(b, 'client-to-server', { type: 'confirmKeyData', mac: filler(16, 5) }, 2));
    b.zcl(`${s}-confirm-rsp`, TC, D1, 0x0800, keFrame(b, 'server-to-client', { type: 'confirmKeyData', mac: filler(16, 6) }, 2));
    b.zcl(`${s}-terminate`, TC, D1, 0x0800, keFrame(b, 'server-to-client', { type: 'terminateKeyEstablishment', status: 1, waitTime: 30, suite }, 3));
  }
  // The published suite-1 Initiate Request (SE Annex C.5) as sent.
  b.zcl('ke1-initiate-req-annex-c5', D1, TC, 0x0800, vectorHex('se-c5-initiate-ke-request'));

  // ---- Frames no key opens -------------------------------------------------------------------
  b.nwk('nwk-unknown-key', { src: D1, dst: TC, payload: apsFrame(apsCommandHeader(b.nextAps()), Uint8Array.of(0x08, 0x04)), nwkKey: hexToBytes('00'.repeat(15) + '01'), keySeq: 7 }, { nwk: NONE });
  b.nwk('nwk-mic-tampered', { src: D1, dst: TC, payload: apsFrame(apsCommandHeader(b.nextAps()), Uint8Array.of(0x08, 0x04)) }, { nwk: { label: null } });
  tamper(b.cases.at(-1)!, 6);
  const apsBad = apsFrame(apsCommandHeader(b.nextAps()), Uint8Array.of(0x08, 0x04), b.sec(D1_TCLK, 0, D1));
  apsBad[apsBad.length - 1] ^= 0x01; // the APS MIC; the NWK layer around it is sealed afterwards and opens
  b.nwk('aps-mic-tampered', { src: D1, dst: TC, payload: apsBad }, { aps: { label: null } });
  return b.cases;
}

/** Flips one byte `from` the end of the PSDU (before the FCS) and recomputes the FCS. */
function tamper(c: FrameCase, from: number): void {
  const p = c.psdu.slice();
  p[p.length - 2 - from] ^= 0x40;
  const crc = crc16Kermit(p, 0, p.length - 2);
  p[p.length - 2] = crc & 0xff;
  p[p.length - 1] = crc >>> 8;
  c.psdu = p;
}

export function hexOf(b: Uint8Array): string {
  return bytesToHex(b);
}
