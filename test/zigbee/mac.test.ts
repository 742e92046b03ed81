// IEEE 802.15.4 MAC codec: published frames (vectors/zigbee-frames.json), FCS, round-trip
// properties for every frame kind, and bad input (truncation, random bytes, lying counts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { DecodeError, eui64FromAir } from '../../harness/zigbee/codec.ts';
import {
  crc16Kermit, decodeMacFrame, decodeMacHeader, encodeMacFrame, encodeMacHeader,
  type Capability, type MacBody, type MacCommand, type MacFrame, type MacHeader,
} from '../../harness/zigbee/ieee802154.ts';
import vectors from '../../vectors/zigbee-frames.json' with { type: 'json' };

const macFrames = vectors.frames.filter((f) => 'psdu' in f && f.psdu) as { id: string; psdu: string; expect: { mac?: object } }[];

/** Runs `fn`; returns the DecodeError it threw (null if none) and fails on any other error. */
function onlyDecodeError(fn: () => unknown): DecodeError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`expected DecodeError, got ${String(e)}`);
    return e;
  }
}

describe('FCS (CRC-16/KERMIT)', () => {
  it('has the catalogue check value and matches the real FCS of captured frames', () => {
    expect(crc16Kermit(new TextEncoder().encode('123456789'))).toBe(0x2189);
    for (const id of ['nwk-many-to-one-route-request', 'nwk-route-record-relayed']) {
      const psdu = hexToBytes(macFrames.find((f) => f.id === id)!.psdu);
      const n = psdu.length - 2;
      expect(crc16Kermit(psdu, 0, n)).toBe(psdu[n] | (psdu[n + 1] << 8));
    }
  });
  it('two bytes per step equals the bit-serial definition on every length and range (odd tails, offsets)', () => {
    // Bit by bit, straight from the polynomial (reflected 0x1021 = 0x8408, init 0): no table.
    const serial = (b: Uint8Array, start: number, end: number) => {
      let c = 0;
      for (let i = start; i < end; i++) {
        c ^= b[i];
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
      }
      return c;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 140 }), fc.nat(), fc.nat(), (b, x, y) => {
      const start = b.length ? x % (b.length + 1) : 0;
      const end = start + (b.length - start ? y % (b.length - start + 1) : 0);
      expect(crc16Kermit(b, start, end)).toBe(serial(b, start, end));
    }), { numRuns: 2000 });
  });
  it('reports a bad FCS instead of throwing, and still decodes the frame', () => {
    const psdu = hexToBytes(macFrames.find((f) => f.id === 'mac-association-request')!.psdu);
    psdu[psdu.length - 1] ^= 0xff;
    const d = decodeMacFrame(psdu, { hasFcs: true }).value;
    expect(d.fcsOk).toBe(false);
    expect(d.body).toMatchObject({ kind: 'command', command: { kind: 'associationRequest' } });
  });
});

describe('published frames decode to the fields Wireshark shows, and re-encode byte for byte', () => {
  it.each(macFrames.map((f) => [f.id, f] as const))('%s', (_id, f) => {
    const psdu = hexToBytes(f.psdu);
    const d = decodeMacFrame(psdu, { hasFcs: true });
    expect(d.value.fcsOk).toBe(true);
    if (f.expect.mac) expect(d.value).toMatchObject(f.expect.mac);
    expect(bytesToHex(encodeMacFrame(d.value))).toBe(f.psdu);
    expect(d.offset).toBe(psdu.length);
    expect(d.payloadOffset).toBe(decodeMacHeader(psdu).offset);
  });
  it('treats the MAC payload of a data frame as a view starting at payloadOffset', () => {
    const psdu = hexToBytes(macFrames.find((f) => f.id === 'nwk-aps-request-key')!.psdu);
    const d = decodeMacFrame(psdu, { hasFcs: true });
    expect(d.payloadOffset).toBe(9);
    const body = d.value.body as Extract<MacBody, { kind: 'data' }>;
    expect(bytesToHex(body.payload)).toBe(bytesToHex(psdu.subarray(9, psdu.length - 2)));
  });
});

// ---- arbitraries --------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map(eui64FromAir);
const bytes = (maxLength = 24, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const nonEmpty = bytes(8, 1);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const nonZero = (max: number) => fc.integer({ min: 1, max });

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const capability: fc.Arbitrary<Capability> = fc
  .record({
    alternatePanCoordinator: fc.boolean(), fullFunctionDevice: fc.boolean(), mainsPowered: fc.boolean(),
    rxOnWhenIdle: fc.boolean(), reserved: opt(nonZero(3)), securityCapability: fc.boolean(), allocateAddress: fc.boolean(),
  })
  .map(strip);

const addrFor = (mode: number) => (mode === 2 ? u16 : eui);

function header(frameType: fc.Arbitrary<number>, securityEnabled: fc.Arbitrary<boolean>): fc.Arbitrary<MacHeader> {
  return fc
    .record({
      frameType, securityEnabled, framePending: fc.boolean(), ackRequest: fc.boolean(), panIdCompression: fc.boolean(),
      reservedBits: opt(nonZero(7).map((x) => x << 7)), frameVersion: fc.constantFrom(0, 1),
      dstAddrMode: fc.constantFrom(0, 2, 3), srcAddrMode: fc.constantFrom(0, 2, 3), seq: u8,
    })
    .chain((h) => {
      const srcPan = h.srcAddrMode !== 0 && (!h.panIdCompression || h.dstAddrMode === 0);
      return fc
        .record({
          dstPan: h.dstAddrMode ? u16 : fc.constant(undefined),
          dst: h.dstAddrMode ? addrFor(h.dstAddrMode) : fc.constant(undefined),
          srcPan: srcPan ? u16 : fc.constant(undefined),
          src: h.srcAddrMode ? addrFor(h.srcAddrMode) : fc.constant(undefined),
        })
        .map((a) => strip({ ...h, ...a } as MacHeader));
    });
}

const knownIds = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
const command: fc.Arbitrary<MacCommand> = fc.oneof(
  capability.map((c): MacCommand => ({ kind: 'associationRequest', capability: c })),
  fc.record({ shortAddress: u16, status: u8 }).map((c): MacCommand => ({ kind: 'associationResponse', ...c })),
  u8.map((reason): MacCommand => ({ kind: 'disassociation', reason })),
  fc.constantFrom<MacCommand>({ kind: 'dataRequest' }, { kind: 'panIdConflict' }, { kind: 'orphan' }, { kind: 'beaconRequest' }),
  fc.record({ panId: u16, coordinatorShortAddress: u16, channel: u8, shortAddress: u16, channelPage: opt(u8) })
    .map((c): MacCommand => strip({ kind: 'coordinatorRealignment' as const, ...c })),
  fc.record({ id: u8.filter((i) => !knownIds.has(i)), raw: bytes(12) }).map((c): MacCommand => ({ kind: 'unknown', ...c })),
);

const zigbeeBeacon = fc
  .record({
    stackProfile: fc.integer({ min: 0, max: 15 }), protocolVersion: fc.integer({ min: 0, max: 15 }), reserved: opt(nonZero(3)),
    routerCapacity: fc.boolean(), deviceDepth: fc.integer({ min: 0, max: 15 }), endDeviceCapacity: fc.boolean(),
    extendedPanId: eui, txOffset: fc.integer({ min: 0, max: 0xffffff }), updateId: opt(u8),
  })
  .map(strip);

const beacon: fc.Arbitrary<MacBody> = fc
  .record({
    superframe: fc.record({
      beaconOrder: fc.integer({ min: 0, max: 15 }), superframeOrder: fc.integer({ min: 0, max: 15 }),
      finalCapSlot: fc.integer({ min: 0, max: 15 }), batteryLifeExtension: fc.boolean(), reserved: opt(fc.constant(1)),
      panCoordinator: fc.boolean(), associationPermit: fc.boolean(),
    }).map(strip),
    gtsPermit: fc.boolean(),
    gtsReserved: opt(nonZero(15)),
    descriptors: fc.array(fc.record({ shortAddress: u16, startingSlot: fc.integer({ min: 0, max: 15 }), length: fc.integer({ min: 0, max: 15 }) }), { maxLength: 7 }),
    directions: u8,
    pending: fc.record({ short: fc.array(u16, { maxLength: 7 }), extended: fc.array(eui, { maxLength: 7 }), reserved: opt(fc.constantFrom(0x08, 0x80, 0x88)) }).map(strip),
    tail: fc.oneof(
      zigbeeBeacon.chain((z) => (z.updateId === undefined ? fc.constant({ zigbee: z }) : opt(nonEmpty).map((t) => strip({ zigbee: z, trailing: t })))),
      // A non-Zigbee payload: anything that does not start like a Zigbee beacon.
      bytes(20).filter((p) => p.length < 14 || p[0] !== 0).map((p) => ({ payload: p })),
    ),
  })
  .map((b): MacBody => ({
    kind: 'beacon',
    superframe: b.superframe,
    gts: strip({ permit: b.gtsPermit, reserved: b.gtsReserved, directions: b.descriptors.length ? b.directions : undefined, descriptors: b.descriptors }),
    pending: b.pending,
    ...b.tail,
  }));

const macFrame: fc.Arbitrary<MacFrame> = fc.oneof(
  fc.tuple(header(fc.constant(1), fc.constant(false)), bytes(40)).map(([h, p]) => ({ header: h, body: { kind: 'data' as const, payload: p } })),
  fc.tuple(header(fc.constant(2), fc.constant(false)), opt(nonEmpty)).map(([h, t]) => ({ header: h, body: strip({ kind: 'ack' as const, trailing: t }) })),
  fc.tuple(header(fc.constant(3), fc.constant(false)), command, opt(nonEmpty)).map(([h, c, t]) => ({
    header: h,
    // An unknown command and a realignment without channel page end where the frame ends.
    body: strip({ kind: 'command' as const, command: c, trailing: c.kind === 'unknown' || (c.kind === 'coordinatorRealignment' && c.channelPage === undefined) ? undefined : t }),
  })),
  fc.tuple(header(fc.constant(0), fc.constant(false)), beacon).map(([h, b]) => ({ header: h, body: b })),
  fc.tuple(header(fc.integer({ min: 0, max: 3 }), fc.constant(true)), bytes(30)).map(([h, r]) => ({ header: h, body: { kind: 'secured' as const, raw: r } })),
  fc.tuple(header(fc.integer({ min: 4, max: 7 }), fc.boolean()), bytes(30)).map(([h, r]) => ({ header: h, body: { kind: 'raw' as const, raw: r } })),
  // 802.15.4-2015 frames: only the frame control is laid out.
  fc.record({
    frameType: fc.integer({ min: 0, max: 7 }), securityEnabled: fc.boolean(), framePending: fc.boolean(), ackRequest: fc.boolean(),
    panIdCompression: fc.boolean(), reservedBits: opt(nonZero(7).map((x) => x << 7)), dstAddrMode: fc.integer({ min: 0, max: 3 }),
    frameVersion: fc.constantFrom(2, 3), srcAddrMode: fc.integer({ min: 0, max: 3 }),
  }).chain((h) => bytes(20).map((r) => ({ header: strip(h) as MacHeader, body: { kind: 'raw' as const, raw: r } }))),
);

describe('round trips (fast-check)', () => {
  it('decode(encode(frame)) deep-equals the frame, for every frame kind, with and without FCS', () => {
    fc.assert(
      fc.property(macFrame, (f) => {
        const withFcs = encodeMacFrame(f);
        const d = decodeMacFrame(withFcs, { hasFcs: true });
        expect(d.value).toEqual({ ...f, fcs: d.value.fcs, fcsOk: true });
        expect(decodeMacFrame(encodeMacFrame(f, { withFcs: false })).value).toEqual(f);
      }),
      { numRuns: 3000 },
    );
  });
  it('encode(decode(bytes)) gives the bytes back for any bytes that decode (nothing is dropped)', () => {
    fc.assert(
      fc.property(bytes(60), (b) => {
        let d: MacFrame;
        try {
          d = decodeMacFrame(b).value;
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        expect(bytesToHex(encodeMacFrame(d, { withFcs: false }))).toBe(bytesToHex(b));
      }),
      { numRuns: 10_000 },
    );
  });
  it('header encode/decode agree on the PAN-ID compression rule', () => {
    fc.assert(fc.property(header(fc.integer({ min: 0, max: 3 }), fc.boolean()), (h) => {
      expect(decodeMacHeader(encodeMacHeader(h)).value).toEqual(h);
    }));
  });
});

describe('bad input only ever raises DecodeError with the MAC layer and an offset inside the frame', () => {
  const real = ['mac-beacon-zigbee', 'mac-association-response', 'nwk-aps-request-key', 'mac-coordinator-realignment-2006'];
  it.each(real)('every truncation of %s', (id) => {
    const psdu = hexToBytes(macFrames.find((f) => f.id === id)!.psdu);
    for (let n = 0; n < psdu.length; n++) {
      for (const hasFcs of [false, true]) {
        const e = onlyDecodeError(() => decodeMacFrame(psdu.subarray(0, n), { hasFcs, base: 100 }));
        if (e) {
          expect(e.layer).toBe('mac');
          expect(e.offset).toBeGreaterThanOrEqual(100);
          expect(e.offset).toBeLessThanOrEqual(100 + n);
        }
      }
    }
  });
  it('random bytes', () => {
    fc.assert(
      fc.property(bytes(80), fc.boolean(), (b, hasFcs) => {
        const e = onlyDecodeError(() => decodeMacFrame(b, { hasFcs }));
        if (e) {
          expect(e.layer).toBe('mac');
          expect(e.offset).toBeLessThanOrEqual(b.length);
        }
      }),
      { numRuns: 10_000 },
    );
  });
  it('counts that lie: pending addresses and GTS descriptors past the end', () => {
    // Beacon header (7 bytes), superframe spec, GTS spec 0, pending spec: 0 short, 3 extended, but only 8 bytes follow.
    const pending = hexToBytes('0080ba641a0000ffcf00' + '30' + '0102030405060708');
    const e = onlyDecodeError(() => decodeMacFrame(pending));
    expect(e?.reason).toMatch(/truncated pending extended address/);
    expect(e?.offset).toBe(19);
    // GTS spec says 2 descriptors; one is there: the error points at the missing second one.
    const gts = hexToBytes('0080ba641a0000ffcf' + '02' + '00' + '341201');
    expect(onlyDecodeError(() => decodeMacFrame(gts))?.offset).toBe(14);
    // Association response cut after the short address.
    expect(onlyDecodeError(() => decodeMacFrame(hexToBytes('63ccbb641adf0f289b6d38c1a4f99905feff504b80028fa1')))?.reason).toMatch(/association status/);
  });
  it('reserved addressing mode 1 and a frame shorter than its FCS', () => {
    expect(onlyDecodeError(() => decodeMacFrame(hexToBytes('0104640000')))?.reason).toMatch(/reserved destination addressing mode 1/);
    expect(onlyDecodeError(() => decodeMacFrame(hexToBytes('01'), { hasFcs: true }))?.reason).toMatch(/truncated FCS/);
  });
});

describe('encoder refuses headers that contradict their frame control', () => {
  it('names the field', () => {
    const h: MacHeader = { frameType: 1, securityEnabled: false, framePending: false, ackRequest: false, panIdCompression: true, dstAddrMode: 2, frameVersion: 0, srcAddrMode: 2, seq: 1, dstPan: 1, dst: 2, srcPan: 3, src: 4 };
    expect(() => encodeMacHeader(h)).toThrow(/source PAN must be absent/);
    expect(() => encodeMacHeader({ ...h, srcPan: undefined, dst: 'a4c1386d9b280fdf' })).toThrow(RangeError);
  });
});
