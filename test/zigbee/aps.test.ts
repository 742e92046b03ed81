import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  APS_COMMAND_NAMES,
  APS_KEY_TYPE_NAMES,
  APS_STATUS_NAMES,
  ApsCommandId,
  ApsKeyType,
  UPDATE_DEVICE_STATUS_NAMES,
  apsHeaderLength,
  decodeApsCommand,
  decodeApsFrame,
  decodeApsHeader,
  encodeApsCommand,
  encodeApsFrame,
  transportKeyLayout,
  type ApsBody,
  type ApsCommand,
  type ApsFrame,
  type ApsHeader,
  type TransportKeyDescriptor,
} from '../../harness/zigbee/aps.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';
import { auxHeaderLength, keyForKeyId, unsecureLayer, type AuxSecurityHeader } from '../../harness/zigbee/security.ts';
import { plain, decodeOrDecodeError, thrown } from '../helpers/decode-checks.ts';

// ---- helpers (shared shape with zdo/zcl tests) -------------------------------------------------

interface Vector {
  name: string;
  layer: string;
  hex: string;
  synthetic: boolean;
  source: Record<string, unknown>;
  clusterId?: number;
  open?: { linkKey: string; plaintext: string; inner?: boolean };
  expect: unknown;
}
const VECTORS: Vector[] = JSON.parse(readFileSync(new URL('../../vectors/zigbee-app-frames.json', import.meta.url), 'utf8')).vectors;




// ---- arbitraries -------------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map(bytesToHex);
const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const trailing = fc.option(fc.uint8Array({ minLength: 1, maxLength: 6 }), { nil: undefined });

function withTrailing<T extends object>(c: T, t: Uint8Array | undefined): T {
  return t === undefined ? c : { ...c, trailing: t };
}

const auxArb: fc.Arbitrary<AuxSecurityHeader> = fc
  .record({
    level: fc.integer({ min: 0, max: 7 }),
    keyId: fc.integer({ min: 0, max: 3 }),
    extendedNonce: fc.boolean(),
    requireVerifiedFrameCounter: fc.boolean(),
    reserved: fc.boolean(),
    frameCounter: fc.integer({ min: 0, max: 0xffffffff }),
    source64: eui,
    keySeq: u8,
  })
  .map((r) => {
    const a: AuxSecurityHeader = { level: r.level, keyId: r.keyId, extendedNonce: r.extendedNonce, requireVerifiedFrameCounter: r.requireVerifiedFrameCounter, frameCounter: r.frameCounter };
    if (r.reserved) a.reserved = 1;
    if (r.extendedNonce) a.source64 = r.source64;
    if (r.keyId === 1) a.keySeq = r.keySeq;
    return a;
  });

const headerArb: fc.Arbitrary<ApsHeader> = fc
  .record({
    frameType: fc.integer({ min: 0, max: 3 }),
    deliveryMode: fc.integer({ min: 0, max: 3 }),
    ackFormat: fc.boolean(),
    security: fc.boolean(),
    ackRequest: fc.boolean(),
    dst: u8,
    group: u16,
    cluster: u16,
    profile: u16,
    src: u8,
    counter: u8,
    ext: fc.option(fc.record({ fragmentation: fc.integer({ min: 0, max: 3 }), reserved: fc.integer({ min: 0, max: 63 }), block: u8, bits: u8 }), { nil: undefined }),
  })
  .map((r) => {
    const h: ApsHeader = { frameType: r.frameType, deliveryMode: r.deliveryMode, ackFormat: r.ackFormat, security: r.security, ackRequest: r.ackRequest };
    const interPan = r.frameType === 3;
    const addressed = r.frameType === 0 || interPan || (r.frameType === 2 && !r.ackFormat);
    if (addressed) {
      if (h.deliveryMode === 1) h.deliveryMode = 0; // indirect: no layout
      const group = h.deliveryMode === 3;
      if (!group && !interPan) h.dstEndpoint = r.dst;
      if (group) h.group = r.group;
      h.clusterId = r.cluster;
      h.profileId = r.profile;
      if (!interPan) h.srcEndpoint = r.src;
    }
    if (!interPan) h.counter = r.counter;
    if (r.ext) {
      h.extended = { fragmentation: r.ext.fragmentation, reserved: r.ext.reserved };
      if (r.ext.fragmentation !== 0) {
        h.extended.blockNumber = r.ext.block;
        if (r.frameType === 2) h.extended.ackBitfield = r.ext.bits;
      }
    }
    return h;
  });

const KNOWN_KEY_TYPES = [0, 1, 2, 3, 4, 5];
const descriptorArb = (keyType: number): fc.Arbitrary<TransportKeyDescriptor> => {
  switch (transportKeyLayout(keyType)) {
    case 'network':
      return fc.record({ key, keySeq: u8, dst64: eui, src64: eui }).map((d) => ({ layout: 'network' as const, ...d }));
    case 'trustCenter':
      return fc.record({ key, dst64: eui, src64: eui }).map((d) => ({ layout: 'trustCenter' as const, ...d }));
    case 'application':
      return fc.record({ key, partner64: eui, initiatorFlag: u8 }).map((d) => ({ layout: 'application' as const, ...d }));
    default:
      return fc.uint8Array({ maxLength: 40 }).map((raw) => ({ layout: 'unknown' as const, raw }));
  }
};

const KNOWN_COMMANDS: number[] = Object.values(ApsCommandId).filter((id) => id <= 0x10);

function commandArb(depth: number): fc.Arbitrary<ApsCommand> {
  const arbs: fc.Arbitrary<ApsCommand>[] = [
    fc
      .tuple(fc.oneof(fc.constantFrom(...KNOWN_KEY_TYPES), u8), trailing)
      .chain(([keyType, t]) =>
        descriptorArb(keyType).map((descriptor): ApsCommand => (descriptor.layout === 'unknown' ? { type: 'transportKey', keyType, descriptor } : withTrailing({ type: 'transportKey' as const, keyType, descriptor }, t))),
      ),
    fc.tuple(eui, u16, u8, trailing).map(([device64, device16, status, t]) => withTrailing({ type: 'updateDevice' as const, device64, device16, status }, t)),
    fc.tuple(eui, trailing).map(([target64, t]) => withTrailing({ type: 'removeDevice' as const, target64 }, t)),
    fc.tuple(fc.oneof(fc.constantFrom(1, 2, 4), u8), eui, trailing).map(([keyType, partner64, t]) =>
      withTrailing(keyType === ApsKeyType.APP_MASTER ? { type: 'requestKey' as const, keyType, partner64 } : { type: 'requestKey' as const, keyType }, t),
    ),
    fc.tuple(u8, trailing).map(([keySeq, t]) => withTrailing({ type: 'switchKey' as const, keySeq }, t)),
    fc.tuple(u8, eui, key, trailing).map(([keyType, src64, keyHash, t]) => withTrailing({ type: 'verifyKey' as const, keyType, src64, keyHash }, t)),
    fc.tuple(u8, u8, eui, trailing).map(([status, keyType, dst64, t]) => withTrailing({ type: 'confirmKey' as const, status, keyType, dst64 }, t)),
    fc.tuple(u8.filter((id) => !KNOWN_COMMANDS.includes(id)), fc.uint8Array({ maxLength: 30 })).map(([id, raw]) => ({ type: 'unknown' as const, id, raw })),
  ];
  if (depth > 0) arbs.push(fc.tuple(eui, frameArb(depth - 1)).map(([dst64, frame]) => ({ type: 'tunnel' as const, dst64, frame })));
  return fc.oneof(...arbs);
}

function bodyArb(h: ApsHeader, depth: number): fc.Arbitrary<ApsBody> {
  if (h.security) return fc.tuple(auxArb, fc.uint8Array({ minLength: 4, maxLength: 40 })).map(([aux, encrypted]) => ({ kind: 'secured' as const, aux, encrypted }));
  if (h.frameType === 1) return commandArb(depth).map((command) => ({ kind: 'command' as const, command }));
  return fc.uint8Array({ maxLength: 40 }).map((payload) => ({ kind: 'payload' as const, payload }));
}

function frameArb(depth: number): fc.Arbitrary<ApsFrame> {
  return headerArb.chain((header) => bodyArb(header, depth).map((body) => ({ header, body })));
}

// ---- tests -------------------------------------------------------------------------------------

describe('APS frames: vectors', () => {
  const apsVectors = VECTORS.filter((v) => v.layer === 'aps');
  it.each(apsVectors.map((v) => [v.name, v] as const))('%s decodes to the documented fields and re-encodes exactly', (_name, v) => {
    const bytes = hexToBytes(v.hex);
    const d = decodeApsFrame(bytes);
    expect(d.offset).toBe(bytes.length);
    expect(plain(d.value)).toMatchObject(v.expect as object);
    expect(bytesToHex(encodeApsFrame(d.value))).toBe(v.hex);
    expect(apsHeaderLength(d.value.header)).toBe(decodeApsHeader(bytes).offset);
  });

  const cmdVectors = VECTORS.filter((v) => v.layer === 'aps-command');
  it.each(cmdVectors.map((v) => [v.name, v] as const))('%s (plaintext command) decodes and re-encodes exactly', (_name, v) => {
    const bytes = hexToBytes(v.hex);
    const d = decodeApsCommand(bytes);
    expect(d.offset).toBe(bytes.length);
    expect(plain(d.value)).toMatchObject(v.expect as object);
    expect(bytesToHex(encodeApsCommand(d.value))).toBe(v.hex);
  });

  it('the plaintext APS Request Key of protocol.md §2.4 is `21 83 | aux | enc(08 04) | MIC`', () => {
    const f = decodeApsFrame(hexToBytes('218320d8820000df0f289b6d38c1a48b957aaf0c60')).value;
    expect(f.header).toStrictEqual({ frameType: 1, deliveryMode: 0, ackFormat: false, security: true, ackRequest: false, counter: 0x83 });
    expect(f.body.kind).toBe('secured');
    if (f.body.kind !== 'secured') return;
    expect(f.body.aux).toStrictEqual({ level: 0, keyId: 0, extendedNonce: true, requireVerifiedFrameCounter: false, frameCounter: 33496, source64: 'a4c1386d9b280fdf' });
    expect(bytesToHex(f.body.encrypted)).toBe('8b957aaf0c60');
    expect(decodeApsCommand(hexToBytes('0804')).value).toStrictEqual({ type: 'requestKey', keyType: ApsKeyType.TC_LINK });
  });

  // The secured vectors open with security.ts: header slicing (apsHeaderLength + aux length) is right
  // exactly when CCM* authenticates, and the plaintext is the documented command.
  const secured = VECTORS.filter((v) => v.open);
  it.each(secured.map((v) => [v.name, v] as const))('%s opens with its link key to the documented plaintext', (_name, v) => {
    const bytes = hexToBytes(v.hex);
    let frame = decodeApsFrame(bytes).value;
    let start = 0;
    if (v.open!.inner) {
      if (frame.body.kind !== 'command' || frame.body.command.type !== 'tunnel') throw new Error('expected a tunnel');
      frame = frame.body.command.frame;
      start = apsHeaderLength(decodeApsHeader(bytes).value) + 9;
    }
    if (frame.body.kind !== 'secured') throw new Error('expected a secured frame');
    const hl = apsHeaderLength(frame.header);
    const al = auxHeaderLength(frame.body.aux);
    const r = unsecureLayer({
      header: bytes.subarray(start, start + hl),
      auxBytes: bytes.subarray(start + hl, start + hl + al),
      body: frame.body.encrypted,
      key: keyForKeyId(frame.body.aux.keyId, hexToBytes(v.open!.linkKey)),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(bytesToHex(r.plaintext)).toBe(v.open!.plaintext);
    expect(bytesToHex(encodeApsCommand(decodeApsCommand(r.plaintext).value))).toBe(v.open!.plaintext);
  });

  it('names ids as Wireshark does (key types per the numbering pitfall of protocol.md §3.2)', () => {
    expect(APS_KEY_TYPE_NAMES[0x01]).toBe('STANDARD_NETWORK');
    expect(APS_KEY_TYPE_NAMES[0x04]).toBe('TC_LINK');
    expect(APS_KEY_TYPE_NAMES[0x03]).toBe('APP_LINK');
    expect(UPDATE_DEVICE_STATUS_NAMES[0x03]).toBe('STANDARD_TRUST_CENTER_REJOIN');
    expect(UPDATE_DEVICE_STATUS_NAMES[0x02]).toBe('DEVICE_LEFT');
    expect(APS_STATUS_NAMES[0xad]).toBe('SECURITY_FAIL');
    expect(APS_STATUS_NAMES[0xaa]).toBe('NOT_SUPPORTED');
    expect(APS_COMMAND_NAMES[0x0e]).toBe('TUNNEL');
  });
});

describe('APS frames: every kind', () => {
  it('data (unicast, broadcast, group), command, data ack, command ack, inter-PAN, fragmented', () => {
    const cases: [string, Partial<ApsHeader>][] = [
      ['40 0a 0008 0901 01 33', { frameType: 0, deliveryMode: 0, ackRequest: true, dstEndpoint: 10, clusterId: 0x0800, profileId: 0x0109, srcEndpoint: 1, counter: 0x33 }],
      ['08 ff 0600 0401 01 07', { deliveryMode: 2, dstEndpoint: 0xff, clusterId: 6, profileId: 0x0104, srcEndpoint: 1, counter: 7 }],
      ['0c 3412 0600 0401 01 07', { deliveryMode: 3, group: 0x1234, clusterId: 6, srcEndpoint: 1, counter: 7 }],
      ['02 0a 0008 0901 01 33', { frameType: 2, ackFormat: false, dstEndpoint: 10, clusterId: 0x0800, counter: 0x33 }],
      ['12 33', { frameType: 2, ackFormat: true, counter: 0x33 }],
      ['0b 0010 5e c0', { frameType: 3, deliveryMode: 2, clusterId: 0x1000, profileId: 0xc05e }],
      ['80 0a 0008 0901 01 33 01 04', { extended: { fragmentation: 1, reserved: 0, blockNumber: 4 } }],
      ['82 0a 0008 0901 01 33 02 03 01', { frameType: 2, extended: { fragmentation: 2, reserved: 0, blockNumber: 3, ackBitfield: 1 } }],
      ['81 33 00', { frameType: 1, counter: 0x33, extended: { fragmentation: 0, reserved: 0 } }],
    ];
    for (const [hex, fields] of cases) {
      const b = hexToBytes(hex.replace(/ /g, ''));
      const h = decodeApsHeader(b);
      expect(h.offset, hex).toBe(b.length);
      expect(h.value, hex).toMatchObject(fields);
      expect(apsHeaderLength(h.value)).toBe(b.length);
    }
  });

  it('update device, remove device, switch key, request key for an application key, app-link transport key, unknown', () => {
    const cmds: ApsCommand[] = [
      { type: 'updateDevice', device64: 'a4c1386d9b280fdf', device16: 0xa18f, status: 0x03 },
      { type: 'removeDevice', target64: 'a4c1386d9b280fdf' },
      { type: 'switchKey', keySeq: 1 },
      { type: 'requestKey', keyType: 0x02, partner64: '0011223344556677' },
      { type: 'transportKey', keyType: 0x03, descriptor: { layout: 'application', key: new Uint8Array(16).fill(7), partner64: '0011223344556677', initiatorFlag: 1 } },
      { type: 'unknown', id: 0x11, raw: Uint8Array.of(1, 2, 3) },
    ];
    const lengths = [12, 9, 2, 10, 27, 4]; // protocol.md §3.2 "Total with ID"
    cmds.forEach((c, i) => {
      const enc = encodeApsCommand(c);
      expect(enc.length).toBe(lengths[i]);
      expect(decodeApsCommand(enc).value).toStrictEqual(c);
    });
  });

  it('keeps R23 TLVs (or any trailing bytes) after a command instead of failing', () => {
    const b = hexToBytes('0804' + '0003aabbcc');
    expect(decodeApsCommand(b).value).toStrictEqual({ type: 'requestKey', keyType: 4, trailing: hexToBytes('0003aabbcc') });
  });
});

describe('APS frames: properties', () => {
  it('decode(encode(frame)) = frame for every frame kind, tunnels nested two deep', () => {
    fc.assert(
      fc.property(frameArb(2), (f) => {
        const bytes = encodeApsFrame(f);
        const d = decodeApsFrame(bytes);
        expect(d.value).toStrictEqual(f);
        expect(d.offset).toBe(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('decode(encode(command)) = command', () => {
    fc.assert(
      fc.property(commandArb(1), (c) => {
        expect(decodeApsCommand(encodeApsCommand(c)).value).toStrictEqual(c);
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes: a frame that decodes re-encodes to the same bytes; anything else is a DecodeError inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 500 }), (bytes, base) => {
        const r = decodeOrDecodeError(() => decodeApsFrame(bytes, 0, base), 'aps', base, base + bytes.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeApsFrame(r.value))).toBe(bytesToHex(bytes));
        const c = decodeOrDecodeError(() => decodeApsCommand(bytes, 0, base), 'aps', base, base + bytes.length);
        if (!(c instanceof DecodeError)) expect(bytesToHex(encodeApsCommand(c.value))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 10_000 },
    );
  });

  it('mutated valid frames (one byte changed, or cut) decode exactly or fail with a DecodeError', () => {
    fc.assert(
      fc.property(frameArb(1), fc.nat(), u8, fc.nat(), (f, at, v, cut) => {
        const bytes = encodeApsFrame(f);
        const m = bytes.slice(0, 1 + (cut % bytes.length));
        m[at % m.length] = v;
        const r = decodeOrDecodeError(() => decodeApsFrame(m), 'aps', 0, m.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeApsFrame(r.value))).toBe(bytesToHex(m));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('APS frames: bad input', () => {
  it('truncation at every length of every vector: DecodeError inside the input, or a shorter frame that re-encodes exactly', () => {
    for (const v of VECTORS.filter((x) => x.layer === 'aps' || x.layer === 'aps-command')) {
      const bytes = hexToBytes(v.hex);
      const decode = v.layer === 'aps' ? decodeApsFrame : decodeApsCommand;
      const encode = (x: unknown) => (v.layer === 'aps' ? encodeApsFrame(x as ApsFrame) : encodeApsCommand(x as ApsCommand));
      for (let n = 0; n < bytes.length; n++) {
        const cut = bytes.subarray(0, n);
        const r = decodeOrDecodeError(() => decode(cut, 0, 7), 'aps', 7, 7 + n);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encode(r.value)), `${v.name} cut at ${n}`).toBe(bytesToHex(cut));
      }
    }
  });

  it('fixed-layout commands fail at the field that runs out', () => {
    const tk = hexToBytes('050101030507090b0d0f00020406080a0c0d00df0f289b6d38c1a4f99905feff504b80');
    let e = thrown(() => decodeApsCommand(tk.subarray(0, 30)));
    expect(e.layer).toBe('aps');
    expect(e.offset).toBe(27);
    expect(e.reason).toBe('truncated source address: need 8 bytes, have 3');
    e = thrown(() => decodeApsCommand(tk.subarray(0, 10), 0, 40));
    expect(e.offset).toBe(42);
    expect(e.reason).toMatch(/^truncated key/);
  });

  it('a truncated aux header or a sealed part shorter than the MIC is a DecodeError at the APS layer', () => {
    let e = thrown(() => decodeApsFrame(hexToBytes('218320d882')));
    expect([e.layer, e.offset]).toEqual(['aps', 3]);
    expect(e.reason).toMatch(/frame counter/);
    e = thrown(() => decodeApsFrame(hexToBytes('218320d8820000df0f289b6d38c1a48b957a')));
    expect([e.layer, e.offset]).toEqual(['aps', 15]);
    expect(e.reason).toMatch(/MIC/);
  });

  it('a tunnel whose inner frame lies about itself fails with the absolute offset inside the inner frame', () => {
    // Inner frame claims security but stops inside its aux header.
    const e = thrown(() => decodeApsCommand(hexToBytes('0e0100000000000000' + '2110' + '3000'), 0, 100));
    expect(e.layer).toBe('aps');
    expect(e.offset).toBe(100 + 12);
  });

  it('delivery mode 1 (indirect) on a data frame has no layout: DecodeError at the frame control', () => {
    const e = thrown(() => decodeApsFrame(hexToBytes('040a00080901013300'), 0, 5));
    expect([e.layer, e.offset]).toEqual(['aps', 5]);
    expect(e.reason).toMatch(/indirect/);
  });

  it('encode refuses values its frame control cannot carry', () => {
    const h: ApsHeader = { frameType: 0, deliveryMode: 0, ackFormat: false, security: false, ackRequest: false, counter: 1 };
    expect(() => encodeApsFrame({ header: h, body: { kind: 'payload', payload: new Uint8Array() } })).toThrow(RangeError);
    expect(() => encodeApsFrame({ header: { ...h, frameType: 1 }, body: { kind: 'payload', payload: new Uint8Array() } })).toThrow(RangeError);
    expect(() => encodeApsCommand({ type: 'requestKey', keyType: 4, partner64: '0011223344556677' })).toThrow(RangeError);
    expect(() => encodeApsCommand({ type: 'transportKey', keyType: 1, descriptor: { layout: 'trustCenter', key: new Uint8Array(16), dst64: '0011223344556677', src64: '0011223344556677' } })).toThrow(RangeError);
    expect(() => encodeApsCommand({ type: 'verifyKey', keyType: 4, src64: '0011223344556677', keyHash: new Uint8Array(15) })).toThrow(RangeError);
  });
});
