// ZDP (Zigbee Device Profile) on endpoint 0, profile 0x0000: the commands the joiner / TC model
// and the suites look at. The APS cluster id names the command; the payload starts with the
// transaction sequence number. Anything not decoded here is kept as raw bytes.
import { ByteReader, ByteWriter, invert, type Eui64 } from './codec.ts';

/** ZDP cluster ids (responses = request | 0x8000). @spec Zigbee 05-3474 §2.4.3/§2.4.4 (protocol.md §5) */
export const ZdpCluster = {
  NODE_DESC_REQ: 0x0002,
  SIMPLE_DESC_REQ: 0x0004,
  ACTIVE_EP_REQ: 0x0005,
  MATCH_DESC_REQ: 0x0006,
  DEVICE_ANNCE: 0x0013,
  MGMT_LEAVE_REQ: 0x0034,
  MGMT_PERMIT_JOINING_REQ: 0x0036,
  NODE_DESC_RSP: 0x8002,
  SIMPLE_DESC_RSP: 0x8004,
  ACTIVE_EP_RSP: 0x8005,
  MATCH_DESC_RSP: 0x8006,
  MGMT_LEAVE_RSP: 0x8034,
} as const;

/** Cluster id → command name, for the dissector. */
export const ZDP_CLUSTER_NAMES: Readonly<Record<number, string>> = {
  [ZdpCluster.NODE_DESC_REQ]: 'Node_Desc_req',
  [ZdpCluster.SIMPLE_DESC_REQ]: 'Simple_Desc_req',
  [ZdpCluster.ACTIVE_EP_REQ]: 'Active_EP_req',
  [ZdpCluster.MATCH_DESC_REQ]: 'Match_Desc_req',
  [ZdpCluster.DEVICE_ANNCE]: 'Device_annce',
  [ZdpCluster.MGMT_LEAVE_REQ]: 'Mgmt_Leave_req',
  [ZdpCluster.MGMT_PERMIT_JOINING_REQ]: 'Mgmt_Permit_Joining_req',
  [ZdpCluster.NODE_DESC_RSP]: 'Node_Desc_rsp',
  [ZdpCluster.SIMPLE_DESC_RSP]: 'Simple_Desc_rsp',
  [ZdpCluster.ACTIVE_EP_RSP]: 'Active_EP_rsp',
  [ZdpCluster.MATCH_DESC_RSP]: 'Match_Desc_rsp',
  [ZdpCluster.MGMT_LEAVE_RSP]: 'Mgmt_Leave_rsp',
};

export const ZDP_RESPONSE_BIT = 0x8000;

/** @spec Zigbee 05-3474-23 Table 2-129 ZDP enumerations (protocol.md §5, from WS) */
export const ZdpStatus = {
  SUCCESS: 0x00,
  INV_REQUESTTYPE: 0x80,
  DEVICE_NOT_FOUND: 0x81,
  INVALID_EP: 0x82,
  NOT_ACTIVE: 0x83,
  NOT_SUPPORTED: 0x84,
  TIMEOUT: 0x85,
  NO_MATCH: 0x86,
  NO_ENTRY: 0x88,
  NO_DESCRIPTOR: 0x89,
  INSUFFICIENT_SPACE: 0x8a,
  NOT_PERMITTED: 0x8b,
  TABLE_FULL: 0x8c,
  NOT_AUTHORIZED: 0x8d,
} as const;
export const ZDP_STATUS_NAMES = invert(ZdpStatus);

/**
 * Server mask (node descriptor bytes 8-9, uint16 LE). @spec Zigbee 05-3474 §2.3.2.3.10 (protocol.md §4.3)
 * ```
 *  b15 … b9                     | b8 b7    | b6  | b5  b4    | b3  b2    | b1  b0
 *  stack compliance revision    | reserved | NM  | disc.cache| bind.cache| backup/primary TC
 *  (0 pre-R21, 21 → 0x2A00, 22 → 0x2C00, 23 → 0x2E00)     (backup/primary in each pair)
 * ```
 */
export const ServerMask = {
  PRIMARY_TRUST_CENTER: 0x0001,
  BACKUP_TRUST_CENTER: 0x0002,
  PRIMARY_BINDING_CACHE: 0x0004,
  BACKUP_BINDING_CACHE: 0x0008,
  PRIMARY_DISCOVERY_CACHE: 0x0010,
  BACKUP_DISCOVERY_CACHE: 0x0020,
  NETWORK_MANAGER: 0x0040,
  RESERVED: 0x0180,
  STACK_COMPLIANCE_REVISION: 0xfe00,
} as const;
export const STACK_COMPLIANCE_REVISION_SHIFT = 9;

/** Logical type, node descriptor byte 0 bits 0-2. */
export const LogicalType = { COORDINATOR: 0, ROUTER: 1, END_DEVICE: 2 } as const;

/** Mgmt_Leave_req flags. @spec Zigbee 05-3474 §2.4.3.3.5 (protocol.md §5) */
export const MgmtLeaveFlags = { REMOVE_CHILDREN: 0x40, REJOIN: 0x80, RESERVED: 0x3f } as const;

export interface ServerMaskFields {
  primaryTrustCenter: boolean;
  backupTrustCenter: boolean;
  primaryBindingCache: boolean;
  backupBindingCache: boolean;
  primaryDiscoveryCache: boolean;
  backupDiscoveryCache: boolean;
  networkManager: boolean;
  /** Bits 7-8 as a 2-bit number. */
  reserved: number;
  /** Bits 9-15: 0 before R21, else the Zigbee PRO revision (21, 22, 23). */
  stackComplianceRevision: number;
}

/**
 * The 13-byte node descriptor. Reserved bits are kept so that the encoding is exact.
 * @spec Zigbee 05-3474 §2.3.2.3 (protocol.md §4.3; WS packet-zbee-zdp.h; ZOH descriptors.ts)
 * ```
 *  0: b0-2 logical type | b3 complex desc | b4 user desc | b5 fragmentation (R23) | b6-7 reserved
 *  1: b0-2 APS flags | b3-7 frequency bands (b3 868, b5 902-928, b6 2.4 GHz, b7 EU sub-GHz)
 *  2: MAC capability   3-4: manufacturer code   5: max buffer size   6-7: max incoming transfer
 *  8-9: server mask   10-11: max outgoing transfer   12: b0 ext active-EP list, b1 ext simple-desc list, b2-7 reserved
 * ```
 */
export interface NodeDescriptor {
  logicalType: number;
  complexDescriptorAvailable: boolean;
  userDescriptorAvailable: boolean;
  fragmentationSupported: boolean;
  reserved: number;
  apsFlags: number;
  /** The 5-bit band field (bit 0 here = byte bit 3 = 868 MHz … bit 3 = 2.4 GHz). */
  frequencyBands: number;
  macCapability: number;
  manufacturerCode: number;
  maxBufferSize: number;
  maxIncomingTransferSize: number;
  serverMask: ServerMaskFields;
  maxOutgoingTransferSize: number;
  extendedActiveEndpointList: boolean;
  extendedSimpleDescriptorList: boolean;
  descriptorCapabilityReserved: number;
}

export const NODE_DESCRIPTOR_BYTES = 13;

/** @spec Zigbee 05-3474 §2.3.2.5 Simple descriptor (protocol.md §5) */
export interface SimpleDescriptor {
  endpoint: number;
  profileId: number;
  deviceId: number;
  /** Low nibble of the version byte. */
  deviceVersion: number;
  /** High nibble of the version byte (reserved). */
  reserved: number;
  inClusters: number[];
  outClusters: number[];
}

export type ZdpCommand =
  | { type: 'Device_annce'; nwkAddress: number; ieeeAddress: Eui64; capability: number }
  | { type: 'Node_Desc_req'; nwkAddrOfInterest: number }
  | { type: 'Node_Desc_rsp'; status: number; nwkAddrOfInterest: number; nodeDescriptor?: NodeDescriptor }
  | { type: 'Simple_Desc_req'; nwkAddrOfInterest: number; endpoint: number }
  | { type: 'Simple_Desc_rsp'; status: number; nwkAddrOfInterest: number; simpleDescriptor?: SimpleDescriptor }
  | { type: 'Active_EP_req'; nwkAddrOfInterest: number }
  | { type: 'Active_EP_rsp'; status: number; nwkAddrOfInterest: number; endpoints: number[] }
  | { type: 'Match_Desc_req'; nwkAddrOfInterest: number; profileId: number; inClusters: number[]; outClusters: number[] }
  | { type: 'Match_Desc_rsp'; status: number; nwkAddrOfInterest: number; matchList: number[] }
  | { type: 'Mgmt_Leave_req'; deviceAddress: Eui64; rejoin: boolean; removeChildren: boolean; reserved: number }
  | { type: 'Mgmt_Leave_rsp'; status: number }
  | { type: 'Mgmt_Permit_Joining_req'; permitDuration: number; tcSignificance: number }
  | { type: 'unknown'; raw: Uint8Array };

export interface ZdpFrame {
  clusterId: number;
  tsn: number;
  command: ZdpCommand;
  /** Bytes after a fully decoded command (R23 TLVs, or junk), kept rather than failing. */
  trailing?: Uint8Array;
}

/**
 * Decodes a ZDP frame (the APS payload) given its APS cluster id.
 * @spec Zigbee 05-3474 §2.4 ZDP
 */
export function decodeZdp(clusterId: number, bytes: Uint8Array, offset = 0, base = 0): { value: ZdpFrame; offset: number } {
  const r = new ByteReader(bytes, 'zdo', offset, base);
  const tsn = r.u8('transaction sequence number');
  const command = readCommand(r, clusterId);
  const frame: ZdpFrame = r.remaining > 0 ? { clusterId, tsn, command, trailing: r.rest() } : { clusterId, tsn, command };
  return { value: frame, offset: r.offset };
}

function readCommand(r: ByteReader, clusterId: number): ZdpCommand {
  switch (clusterId) {
    case ZdpCluster.DEVICE_ANNCE:
      return { type: 'Device_annce', nwkAddress: r.u16('NWK address'), ieeeAddress: r.eui64('IEEE address'), capability: r.u8('capability') };
    case ZdpCluster.NODE_DESC_REQ:
      return { type: 'Node_Desc_req', nwkAddrOfInterest: r.u16('NWKAddrOfInterest') };
    case ZdpCluster.NODE_DESC_RSP: {
      const status = r.u8('status');
      const nwkAddrOfInterest = r.u16('NWKAddrOfInterest');
      if (status !== ZdpStatus.SUCCESS) return { type: 'Node_Desc_rsp', status, nwkAddrOfInterest };
      return { type: 'Node_Desc_rsp', status, nwkAddrOfInterest, nodeDescriptor: readNodeDescriptor(r) };
    }
    case ZdpCluster.SIMPLE_DESC_REQ:
      return { type: 'Simple_Desc_req', nwkAddrOfInterest: r.u16('NWKAddrOfInterest'), endpoint: r.u8('endpoint') };
    case ZdpCluster.SIMPLE_DESC_RSP: {
      const status = r.u8('status');
      const nwkAddrOfInterest = r.u16('NWKAddrOfInterest');
      const lengthAt = r.offset;
      const length = r.u8('simple descriptor length');
      if (length === 0) return { type: 'Simple_Desc_rsp', status, nwkAddrOfInterest };
      r.need(length, 'simple descriptor');
      const end = r.offset + length;
      // The descriptor must fill its length field exactly: read it in a window of that size.
      const inner = new ByteReader(r.bytes.subarray(0, end), 'zdo', r.offset, r.base);
      const simpleDescriptor = readSimpleDescriptor(inner);
      if (inner.offset !== end) r.fail(`simple descriptor length ${length} but its fields take ${inner.offset - r.offset}`, lengthAt);
      r.offset = end;
      return { type: 'Simple_Desc_rsp', status, nwkAddrOfInterest, simpleDescriptor };
    }
    case ZdpCluster.ACTIVE_EP_REQ:
      return { type: 'Active_EP_req', nwkAddrOfInterest: r.u16('NWKAddrOfInterest') };
    case ZdpCluster.ACTIVE_EP_RSP: {
      const status = r.u8('status');
      const nwkAddrOfInterest = r.u16('NWKAddrOfInterest');
      return { type: 'Active_EP_rsp', status, nwkAddrOfInterest, endpoints: readU8List(r, 'active endpoint count', 'active endpoint list') };
    }
    case ZdpCluster.MATCH_DESC_REQ: {
      const nwkAddrOfInterest = r.u16('NWKAddrOfInterest');
      const profileId = r.u16('profile id');
      const inClusters = readU16List(r, 'input cluster count', 'input cluster list');
      const outClusters = readU16List(r, 'output cluster count', 'output cluster list');
      return { type: 'Match_Desc_req', nwkAddrOfInterest, profileId, inClusters, outClusters };
    }
    case ZdpCluster.MATCH_DESC_RSP: {
      const status = r.u8('status');
      const nwkAddrOfInterest = r.u16('NWKAddrOfInterest');
      return { type: 'Match_Desc_rsp', status, nwkAddrOfInterest, matchList: readU8List(r, 'match length', 'match list') };
    }
    case ZdpCluster.MGMT_LEAVE_REQ: {
      const deviceAddress = r.eui64('device address');
      const flags = r.u8('leave flags');
      return {
        type: 'Mgmt_Leave_req',
        deviceAddress,
        rejoin: (flags & MgmtLeaveFlags.REJOIN) !== 0,
        removeChildren: (flags & MgmtLeaveFlags.REMOVE_CHILDREN) !== 0,
        reserved: flags & MgmtLeaveFlags.RESERVED,
      };
    }
    case ZdpCluster.MGMT_LEAVE_RSP:
      return { type: 'Mgmt_Leave_rsp', status: r.u8('status') };
    case ZdpCluster.MGMT_PERMIT_JOINING_REQ:
      return { type: 'Mgmt_Permit_Joining_req', permitDuration: r.u8('permit duration'), tcSignificance: r.u8('TC significance') };
    default:
      return { type: 'unknown', raw: r.rest() };
  }
}

/** @spec Zigbee 05-3474 §2.3.2.3 */
export function readNodeDescriptor(r: ByteReader): NodeDescriptor {
  r.need(NODE_DESCRIPTOR_BYTES, 'node descriptor');
  const b0 = r.u8();
  const b1 = r.u8();
  const macCapability = r.u8();
  const manufacturerCode = r.u16();
  const maxBufferSize = r.u8();
  const maxIncomingTransferSize = r.u16();
  const sm = r.u16();
  const maxOutgoingTransferSize = r.u16();
  const dc = r.u8();
  return {
    logicalType: b0 & 0x07,
    complexDescriptorAvailable: (b0 & 0x08) !== 0,
    userDescriptorAvailable: (b0 & 0x10) !== 0,
    fragmentationSupported: (b0 & 0x20) !== 0,
    reserved: b0 >> 6,
    apsFlags: b1 & 0x07,
    frequencyBands: b1 >> 3,
    macCapability,
    manufacturerCode,
    maxBufferSize,
    maxIncomingTransferSize,
    serverMask: decodeServerMask(sm),
    maxOutgoingTransferSize,
    extendedActiveEndpointList: (dc & 0x01) !== 0,
    extendedSimpleDescriptorList: (dc & 0x02) !== 0,
    descriptorCapabilityReserved: dc >> 2,
  };
}

export function writeNodeDescriptor(w: ByteWriter, d: NodeDescriptor): void {
  w.u8((d.logicalType & 7) | (d.complexDescriptorAvailable ? 0x08 : 0) | (d.userDescriptorAvailable ? 0x10 : 0) | (d.fragmentationSupported ? 0x20 : 0) | ((d.reserved & 3) << 6));
  w.u8((d.apsFlags & 7) | ((d.frequencyBands & 0x1f) << 3));
  w.u8(d.macCapability).u16(d.manufacturerCode).u8(d.maxBufferSize).u16(d.maxIncomingTransferSize);
  w.u16(encodeServerMask(d.serverMask)).u16(d.maxOutgoingTransferSize);
  w.u8((d.extendedActiveEndpointList ? 1 : 0) | (d.extendedSimpleDescriptorList ? 2 : 0) | ((d.descriptorCapabilityReserved & 0x3f) << 2));
}

export function decodeServerMask(sm: number): ServerMaskFields {
  return {
    primaryTrustCenter: (sm & ServerMask.PRIMARY_TRUST_CENTER) !== 0,
    backupTrustCenter: (sm & ServerMask.BACKUP_TRUST_CENTER) !== 0,
    primaryBindingCache: (sm & ServerMask.PRIMARY_BINDING_CACHE) !== 0,
    backupBindingCache: (sm & ServerMask.BACKUP_BINDING_CACHE) !== 0,
    primaryDiscoveryCache: (sm & ServerMask.PRIMARY_DISCOVERY_CACHE) !== 0,
    backupDiscoveryCache: (sm & ServerMask.BACKUP_DISCOVERY_CACHE) !== 0,
    networkManager: (sm & ServerMask.NETWORK_MANAGER) !== 0,
    reserved: (sm & ServerMask.RESERVED) >> 7,
    stackComplianceRevision: sm >>> STACK_COMPLIANCE_REVISION_SHIFT,
  };
}

export function encodeServerMask(m: ServerMaskFields): number {
  return (
    (m.primaryTrustCenter ? ServerMask.PRIMARY_TRUST_CENTER : 0) |
    (m.backupTrustCenter ? ServerMask.BACKUP_TRUST_CENTER : 0) |
    (m.primaryBindingCache ? ServerMask.PRIMARY_BINDING_CACHE : 0) |
    (m.backupBindingCache ? ServerMask.BACKUP_BINDING_CACHE : 0) |
    (m.primaryDiscoveryCache ? ServerMask.PRIMARY_DISCOVERY_CACHE : 0) |
    (m.backupDiscoveryCache ? ServerMask.BACKUP_DISCOVERY_CACHE : 0) |
    (m.networkManager ? ServerMask.NETWORK_MANAGER : 0) |
    ((m.reserved & 3) << 7) |
    ((m.stackComplianceRevision & 0x7f) << STACK_COMPLIANCE_REVISION_SHIFT)
  );
}

function readSimpleDescriptor(r: ByteReader): SimpleDescriptor {
  const endpoint = r.u8('endpoint');
  const profileId = r.u16('profile id');
  const deviceId = r.u16('device id');
  const version = r.u8('device version');
  const inClusters = readU16List(r, 'input cluster count', 'input cluster list');
  const outClusters = readU16List(r, 'output cluster count', 'output cluster list');
  return { endpoint, profileId, deviceId, deviceVersion: version & 0x0f, reserved: version >> 4, inClusters, outClusters };
}

function writeSimpleDescriptor(w: ByteWriter, d: SimpleDescriptor): void {
  w.u8(d.endpoint).u16(d.profileId).u16(d.deviceId).u8((d.deviceVersion & 0x0f) | ((d.reserved & 0x0f) << 4));
  writeU16List(w, d.inClusters);
  writeU16List(w, d.outClusters);
}

// Literal labels (no string building on the decode path).
function readU16List(r: ByteReader, countWhat: string, listWhat: string): number[] {
  const n = r.u8(countWhat);
  r.need(2 * n, listWhat);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = r.u16();
  return out;
}

function readU8List(r: ByteReader, countWhat: string, listWhat: string): number[] {
  const n = r.u8(countWhat);
  const list = r.take(n, listWhat);
  return Array.from(list);
}

function writeU16List(w: ByteWriter, list: readonly number[]): void {
  w.u8(count(list.length));
  for (const v of list) w.u16(v);
}

function writeU8List(w: ByteWriter, list: readonly number[]): void {
  w.u8(count(list.length));
  for (const v of list) w.u8(v);
}

function count(n: number): number {
  if (n > 0xff) throw new RangeError(`ZDP list of ${n} entries does not fit a 1-byte count`);
  return n;
}

export function encodeZdp(f: ZdpFrame): Uint8Array {
  const w = new ByteWriter(32).u8(f.tsn);
  const c = f.command;
  switch (c.type) {
    case 'Device_annce':
      w.u16(c.nwkAddress).eui64(c.ieeeAddress).u8(c.capability);
      break;
    case 'Node_Desc_req':
    case 'Active_EP_req':
      w.u16(c.nwkAddrOfInterest);
      break;
    case 'Node_Desc_rsp':
      w.u8(c.status).u16(c.nwkAddrOfInterest);
      if (c.nodeDescriptor) writeNodeDescriptor(w, c.nodeDescriptor);
      break;
    case 'Simple_Desc_req':
      w.u16(c.nwkAddrOfInterest).u8(c.endpoint);
      break;
    case 'Simple_Desc_rsp': {
      w.u8(c.status).u16(c.nwkAddrOfInterest);
      if (!c.simpleDescriptor) {
        w.u8(0);
        break;
      }
      const inner = new ByteWriter(32);
      writeSimpleDescriptor(inner, c.simpleDescriptor);
      const body = inner.finish();
      w.u8(count(body.length)).bytes(body);
      break;
    }
    case 'Active_EP_rsp':
      w.u8(c.status).u16(c.nwkAddrOfInterest);
      writeU8List(w, c.endpoints);
      break;
    case 'Match_Desc_req':
      w.u16(c.nwkAddrOfInterest).u16(c.profileId);
      writeU16List(w, c.inClusters);
      writeU16List(w, c.outClusters);
      break;
    case 'Match_Desc_rsp':
      w.u8(c.status).u16(c.nwkAddrOfInterest);
      writeU8List(w, c.matchList);
      break;
    case 'Mgmt_Leave_req':
      w.eui64(c.deviceAddress).u8((c.rejoin ? MgmtLeaveFlags.REJOIN : 0) | (c.removeChildren ? MgmtLeaveFlags.REMOVE_CHILDREN : 0) | (c.reserved & MgmtLeaveFlags.RESERVED));
      break;
    case 'Mgmt_Leave_rsp':
      w.u8(c.status);
      break;
    case 'Mgmt_Permit_Joining_req':
      w.u8(c.permitDuration).u8(c.tcSignificance);
      break;
    case 'unknown':
      w.bytes(c.raw);
      break;
  }
  if (f.trailing) w.bytes(f.trailing);
  return w.finish();
}

