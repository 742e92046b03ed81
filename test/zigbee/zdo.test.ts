import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';
import {
  NODE_DESCRIPTOR_BYTES,
  ZDP_CLUSTER_NAMES,
  ZDP_STATUS_NAMES,
  ZdpCluster,
  decodeServerMask,
  decodeZdp,
  encodeServerMask,
  encodeZdp,
  type NodeDescriptor,
  type SimpleDescriptor,
  type ZdpCommand,
  type ZdpFrame,
} from '../../harness/zigbee/zdo.ts';
import { plain, decodeOrDecodeError, thrown } from '../helpers/decode-checks.ts';

interface Vector {
  name: string;
  layer: string;
  hex: string;
  clusterId?: number;
  expect: unknown;
}
const VECTORS: Vector[] = JSON.parse(readFileSync(new URL('../../vectors/zigbee-app-frames.json', import.meta.url), 'utf8')).vectors;




const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map(bytesToHex);
const u16List = fc.array(u16, { maxLength: 6 });
const u8List = fc.array(u8, { maxLength: 6 });

const serverMaskArb = fc.integer({ min: 0, max: 0xffff }).map(decodeServerMask);
const nodeDescriptorArb: fc.Arbitrary<NodeDescriptor> = fc.record({
  logicalType: fc.integer({ min: 0, max: 7 }),
  complexDescriptorAvailable: fc.boolean(),
  userDescriptorAvailable: fc.boolean(),
  fragmentationSupported: fc.boolean(),
  reserved: fc.integer({ min: 0, max: 3 }),
  apsFlags: fc.integer({ min: 0, max: 7 }),
  frequencyBands: fc.integer({ min: 0, max: 31 }),
  macCapability: u8,
  manufacturerCode: u16,
  maxBufferSize: u8,
  maxIncomingTransferSize: u16,
  serverMask: serverMaskArb,
  maxOutgoingTransferSize: u16,
  extendedActiveEndpointList: fc.boolean(),
  extendedSimpleDescriptorList: fc.boolean(),
  descriptorCapabilityReserved: fc.integer({ min: 0, max: 63 }),
}).map((r) => ({ ...r })); // fc.record objects have a null prototype; decoded ones do not
const simpleDescriptorArb: fc.Arbitrary<SimpleDescriptor> = fc.record({
  endpoint: u8,
  profileId: u16,
  deviceId: u16,
  deviceVersion: fc.integer({ min: 0, max: 15 }),
  reserved: fc.integer({ min: 0, max: 15 }),
  inClusters: u16List,
  outClusters: u16List,
}).map((r) => ({ ...r }));

const KNOWN = Object.values(ZdpCluster) as number[];
const pair = (id: number, c: ZdpCommand): [number, ZdpCommand] => [id, c];
const commandArb: fc.Arbitrary<[number, ZdpCommand]> = fc.oneof(
  fc.tuple(u16, eui, u8).map(([nwkAddress, ieeeAddress, capability]) => pair(ZdpCluster.DEVICE_ANNCE, { type: 'Device_annce', nwkAddress, ieeeAddress, capability })),
  u16.map((nwkAddrOfInterest) => pair(ZdpCluster.NODE_DESC_REQ, { type: 'Node_Desc_req', nwkAddrOfInterest })),
  fc.tuple(u8, u16, nodeDescriptorArb).map(([status, nwkAddrOfInterest, nodeDescriptor]) =>
    pair(ZdpCluster.NODE_DESC_RSP, status === 0 ? { type: 'Node_Desc_rsp', status, nwkAddrOfInterest, nodeDescriptor } : { type: 'Node_Desc_rsp', status, nwkAddrOfInterest }),
  ),
  fc.tuple(u16, u8).map(([nwkAddrOfInterest, endpoint]) => pair(ZdpCluster.SIMPLE_DESC_REQ, { type: 'Simple_Desc_req', nwkAddrOfInterest, endpoint })),
  fc.tuple(u8, u16, fc.option(simpleDescriptorArb, { nil: undefined })).map(([status, nwkAddrOfInterest, d]) =>
    pair(ZdpCluster.SIMPLE_DESC_RSP, d ? { type: 'Simple_Desc_rsp', status, nwkAddrOfInterest, simpleDescriptor: d } : { type: 'Simple_Desc_rsp', status, nwkAddrOfInterest }),
  ),
  u16.map((nwkAddrOfInterest) => pair(ZdpCluster.ACTIVE_EP_REQ, { type: 'Active_EP_req', nwkAddrOfInterest })),
  fc.tuple(u8, u16, u8List).map(([status, nwkAddrOfInterest, endpoints]) => pair(ZdpCluster.ACTIVE_EP_RSP, { type: 'Active_EP_rsp', status, nwkAddrOfInterest, endpoints })),
  fc.tuple(u16, u16, u16List, u16List).map(([nwkAddrOfInterest, profileId, inClusters, outClusters]) =>
    pair(ZdpCluster.MATCH_DESC_REQ, { type: 'Match_Desc_req', nwkAddrOfInterest, profileId, inClusters, outClusters }),
  ),
  fc.tuple(u8, u16, u8List).map(([status, nwkAddrOfInterest, matchList]) => pair(ZdpCluster.MATCH_DESC_RSP, { type: 'Match_Desc_rsp', status, nwkAddrOfInterest, matchList })),
  fc.tuple(eui, fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 63 })).map(([deviceAddress, rejoin, removeChildren, reserved]) =>
    pair(ZdpCluster.MGMT_LEAVE_REQ, { type: 'Mgmt_Leave_req', deviceAddress, rejoin, removeChildren, reserved }),
  ),
  u8.map((status) => pair(ZdpCluster.MGMT_LEAVE_RSP, { type: 'Mgmt_Leave_rsp', status })),
  fc.tuple(u8, u8).map(([permitDuration, tcSignificance]) => pair(ZdpCluster.MGMT_PERMIT_JOINING_REQ, { type: 'Mgmt_Permit_Joining_req', permitDuration, tcSignificance })),
);
const frameArb: fc.Arbitrary<ZdpFrame> = fc.oneof(
  fc.tuple(commandArb, u8, fc.option(fc.uint8Array({ minLength: 1, maxLength: 6 }), { nil: undefined })).map(([[clusterId, command], tsn, trailing]) =>
    trailing ? { clusterId, tsn, command, trailing } : { clusterId, tsn, command },
  ),
  fc.tuple(u16.filter((c) => !KNOWN.includes(c)), u8, fc.uint8Array({ maxLength: 20 })).map(([clusterId, tsn, raw]) => ({ clusterId, tsn, command: { type: 'unknown' as const, raw } })),
);

describe('ZDP: vectors', () => {
  const zdp = VECTORS.filter((v) => v.layer === 'zdp');
  it.each(zdp.map((v) => [v.name, v] as const))('%s decodes to the documented fields and re-encodes exactly', (_n, v) => {
    const bytes = hexToBytes(v.hex);
    const d = decodeZdp(v.clusterId!, bytes);
    expect(d.offset).toBe(bytes.length);
    expect(plain(d.value)).toMatchObject(v.expect as object);
    expect(bytesToHex(encodeZdp(d.value))).toBe(v.hex);
  });

  it('exports the cluster → command mapping for the dissector', () => {
    expect(ZDP_CLUSTER_NAMES[0x0013]).toBe('Device_annce');
    expect(ZDP_CLUSTER_NAMES[0x8002]).toBe('Node_Desc_rsp');
    expect(ZDP_CLUSTER_NAMES[0x0034]).toBe('Mgmt_Leave_req');
    expect(ZDP_STATUS_NAMES[0x84]).toBe('NOT_SUPPORTED');
    for (const [id, name] of Object.entries(ZDP_CLUSTER_NAMES)) {
      // The decoded command type is the same name.
      const arb = fc.sample(frameArb.filter((f) => f.clusterId === Number(id)), 1)[0];
      expect(arb.command.type).toBe(name);
    }
  });
});

describe('ZDP: node descriptor and the stack compliance revision', () => {
  it('reads the revision from server-mask bits 9-15 (protocol.md §4.3)', () => {
    expect(decodeServerMask(0x2a00).stackComplianceRevision).toBe(21);
    expect(decodeServerMask(0x2c00).stackComplianceRevision).toBe(22);
    expect(decodeServerMask(0x2e00).stackComplianceRevision).toBe(23);
    expect(decodeServerMask(0x0041).stackComplianceRevision).toBe(0); // pre-R21 TC: legacy, skip the TCLK update
    const m = decodeServerMask(0x2c41);
    expect(m).toMatchObject({ primaryTrustCenter: true, networkManager: true, backupTrustCenter: false, reserved: 0, stackComplianceRevision: 22 });
    for (let v = 0; v <= 0xffff; v += 7) expect(encodeServerMask(decodeServerMask(v))).toBe(v);
  });

  it('a non-SUCCESS Node_Desc_rsp carries no descriptor; a SUCCESS one must carry all 13 bytes', () => {
    expect(decodeZdp(0x8002, hexToBytes('07840000')).value.command).toStrictEqual({ type: 'Node_Desc_rsp', status: 0x84, nwkAddrOfInterest: 0 });
    const e = thrown(() => decodeZdp(0x8002, hexToBytes('0100000000408fa0c57f7400412c7400'), 0, 20));
    expect([e.layer, e.offset]).toEqual(['zdo', 24]);
    expect(e.reason).toBe(`truncated node descriptor: need ${NODE_DESCRIPTOR_BYTES} bytes, have 12`);
  });

  it('Mgmt_Leave_req flags: b7 rejoin, b6 remove children', () => {
    const f = decodeZdp(0x0034, hexToBytes('09' + 'df0f289b6d38c1a4' + 'c0')).value;
    expect(f.command).toStrictEqual({ type: 'Mgmt_Leave_req', deviceAddress: 'a4c1386d9b280fdf', rejoin: true, removeChildren: true, reserved: 0 });
    const g = decodeZdp(0x0034, hexToBytes('09' + 'df0f289b6d38c1a4' + '80')).value;
    expect(g.command).toMatchObject({ rejoin: true, removeChildren: false });
  });

  it('Simple_Desc_rsp with a KE endpoint', () => {
    const d: SimpleDescriptor = { endpoint: 10, profileId: 0x0109, deviceId: 0x0500, deviceVersion: 0, reserved: 0, inClusters: [0x0000, 0x0800, 0x0025], outClusters: [0x0800] };
    const bytes = encodeZdp({ clusterId: 0x8004, tsn: 3, command: { type: 'Simple_Desc_rsp', status: 0, nwkAddrOfInterest: 0, simpleDescriptor: d } });
    expect(bytesToHex(bytes)).toBe('03' + '00' + '0000' + '10' + '0a' + '0901' + '0005' + '00' + '03' + '000000082500' + '01' + '0008');
    expect(decodeZdp(0x8004, bytes).value.command).toStrictEqual({ type: 'Simple_Desc_rsp', status: 0, nwkAddrOfInterest: 0, simpleDescriptor: d });
  });
});

describe('ZDP: properties', () => {
  it('decode(encode(frame)) = frame for every command', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const bytes = encodeZdp(f);
        const d = decodeZdp(f.clusterId, bytes);
        expect(d.value).toStrictEqual(f);
        expect(d.offset).toBe(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes under every cluster id: exact re-encoding or a DecodeError inside the input', () => {
    const clusters = fc.oneof(fc.constantFrom(...KNOWN), u16);
    fc.assert(
      fc.property(clusters, fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 300 }), (clusterId, bytes, base) => {
        const r = decodeOrDecodeError(() => decodeZdp(clusterId, bytes, 0, base), 'zdo', base, base + bytes.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZdp(r.value))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 10_000 },
    );
  });

  it('truncation at every length of every generated frame: DecodeError or an exact shorter frame', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const bytes = encodeZdp(f);
        for (let n = 0; n < bytes.length; n++) {
          const cut = bytes.subarray(0, n);
          const r = decodeOrDecodeError(() => decodeZdp(f.clusterId, cut), 'zdo', 0, n);
          if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZdp(r.value))).toBe(bytesToHex(cut));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('ZDP: bad input', () => {
  it('truncation at every length of every vector', () => {
    for (const v of VECTORS.filter((x) => x.layer === 'zdp')) {
      const bytes = hexToBytes(v.hex);
      for (let n = 0; n < bytes.length; n++) {
        const r = decodeOrDecodeError(() => decodeZdp(v.clusterId!, bytes.subarray(0, n), 0, 9), 'zdo', 9, 9 + n);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZdp(r.value))).toBe(bytesToHex(bytes.subarray(0, n)));
      }
    }
    expect(thrown(() => decodeZdp(0x0013, new Uint8Array(0))).reason).toBe('truncated transaction sequence number: need 1 byte, have 0');
  });

  it('lying lengths: Simple_Desc_rsp length past the end, shorter than its fields, longer than its fields', () => {
    // length 0x20, only 12 bytes follow
    let e = thrown(() => decodeZdp(0x8004, hexToBytes('03000000' + '20' + '0a09010005000100000100')));
    expect([e.layer, e.offset]).toEqual(['zdo', 5]);
    expect(e.reason).toMatch(/truncated simple descriptor: need 32 bytes/);
    // length 9 but the in-cluster count (2) needs 4 bytes where the window has 2
    e = thrown(() => decodeZdp(0x8004, hexToBytes('03000000' + '09' + '0a0901000500' + '02' + '00000008' + '00')));
    expect(e.offset).toBe(12);
    expect(e.reason).toBe('truncated input cluster list: need 4 bytes, have 2');
    // length 10 but the fields take 8: a byte inside the descriptor is left over
    e = thrown(() => decodeZdp(0x8004, hexToBytes('03000000' + '0a' + '0a0901000500' + '00' + '00' + 'ffff')));
    expect(e.offset).toBe(4);
    expect(e.reason).toBe('simple descriptor length 10 but its fields take 8');
  });

  it('lying counts in Match_Desc_req / Active_EP_rsp', () => {
    let e = thrown(() => decodeZdp(0x0006, hexToBytes('05' + '0000' + '0901' + '05' + '0008')));
    expect([e.layer, e.offset]).toEqual(['zdo', 6]);
    expect(e.reason).toBe('truncated input cluster list: need 10 bytes, have 2');
    e = thrown(() => decodeZdp(0x8005, hexToBytes('05' + '00' + '0000' + '04' + '0102')));
    expect(e.offset).toBe(5);
    expect(e.reason).toBe('truncated active endpoint list: need 4 bytes, have 2');
  });

  it('encode refuses lists that do not fit a one-byte count', () => {
    expect(() => encodeZdp({ clusterId: 0x8005, tsn: 0, command: { type: 'Active_EP_rsp', status: 0, nwkAddrOfInterest: 0, endpoints: new Array(256).fill(1) } })).toThrow(RangeError);
  });
});
