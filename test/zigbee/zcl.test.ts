import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  KEY_ESTABLISHMENT_STATUS_NAMES,
  KeyEstablishmentSuite,
  decodeKeyEstablishmentCommand,
  encodeKeyEstablishmentCommand,
  keyEstablishmentCommandId,
  keyEstablishmentCommandName,
  type KeyEstablishmentCommand,
} from '../../harness/zigbee/clusters/key-establishment.ts';
import { KEEP_ALIVE_FAILURE_LIMIT, TC_KEEP_ALIVE_BASE, TC_KEEP_ALIVE_JITTER, keepAliveIntervalBoundsMs, readKeepAliveParameters } from '../../harness/zigbee/clusters/keep-alive.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';
import {
  ZCL_STATUS_NAMES,
  ZclDataType,
  decodeZclFrame,
  decodeZclHeader,
  encodeZclFrame,
  zclStringText,
  type ZclCommand,
  type ZclFrame,
  type ZclHeader,
  type ZclReadRecord,
  type ZclValue,
} from '../../harness/zigbee/zcl.ts';
import { plain, decodeOrDecodeError, thrown } from '../helpers/decode-checks.ts';

interface Vector {
  name: string;
  layer: string;
  hex: string;
  expect: unknown;
}
const VECTORS: Vector[] = JSON.parse(readFileSync(new URL('../../vectors/zigbee-app-frames.json', import.meta.url), 'utf8')).vectors;




/** ZCL header then the KE payload, as a dissector would stage it. */
function decodeKeFrame(bytes: Uint8Array, base = 0, suite?: number) {
  const h = decodeZclHeader(bytes, 0, base);
  const c = decodeKeyEstablishmentCommand(h.value.commandId, bytes, h.offset, base, { suite });
  return { header: h.value, command: c.value, offset: c.offset };
}

// ---- arbitraries -------------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const trailing = fc.option(bytes(1, 6), { nil: undefined });

const headerArb: fc.Arbitrary<ZclHeader> = fc
  .record({
    frameType: fc.integer({ min: 0, max: 3 }),
    direction: fc.constantFrom('client-to-server' as const, 'server-to-client' as const),
    disableDefaultResponse: fc.boolean(),
    reserved: fc.integer({ min: 0, max: 7 }),
    mfr: fc.option(u16, { nil: undefined }),
    tsn: u8,
    commandId: u8,
  })
  .map(({ mfr, ...h }) => (mfr === undefined ? { ...h } : { ...h, manufacturerCode: mfr }));

const DATA_TYPES = Object.values(ZclDataType) as number[];
const valueArb = (t: number): fc.Arbitrary<ZclValue> => {
  switch (t) {
    case ZclDataType.BOOL:
      return fc.oneof(fc.boolean(), fc.integer({ min: 2, max: 0xff }));
    case ZclDataType.UINT8:
    case ZclDataType.ENUM8:
    case ZclDataType.BITMAP8:
      return u8;
    case ZclDataType.UINT16:
    case ZclDataType.ENUM16:
    case ZclDataType.BITMAP16:
      return u16;
    case ZclDataType.UINT24:
      return fc.integer({ min: 0, max: 0xffffff });
    case ZclDataType.UINT32:
      return fc.integer({ min: 0, max: 0xffffffff });
    case ZclDataType.INT8:
      return fc.integer({ min: -128, max: 127 });
    case ZclDataType.INT16:
      return fc.integer({ min: -32768, max: 32767 });
    default:
      return fc.oneof(fc.constant(null), bytes(0, 20));
  }
};
const recordArb: fc.Arbitrary<ZclReadRecord> = fc.oneof(
  fc.tuple(u16, fc.constantFrom(...DATA_TYPES)).chain(([attributeId, dataType]) => valueArb(dataType).map((value) => ({ attributeId, status: 0, dataType, value }))),
  fc.tuple(u16, fc.integer({ min: 1, max: 0xff })).map(([attributeId, status]) => ({ attributeId, status })),
);

const frameArb: fc.Arbitrary<ZclFrame> = headerArb.chain((h) => {
  let command: fc.Arbitrary<ZclCommand>;
  if (h.frameType !== 0 || ![0x00, 0x01, 0x0b].includes(h.commandId)) command = bytes(0, 30).map((raw) => ({ type: 'raw' as const, raw }));
  else if (h.commandId === 0x00) command = fc.array(u16, { maxLength: 8 }).map((attributeIds) => ({ type: 'readAttributes' as const, attributeIds }));
  else if (h.commandId === 0x01) command = fc.array(recordArb, { maxLength: 5 }).map((records) => ({ type: 'readAttributesResponse' as const, records }));
  else command = fc.tuple(u8, u8, trailing).map(([commandId, status, t]) => (t ? { type: 'defaultResponse' as const, commandId, status, trailing: t } : { type: 'defaultResponse' as const, commandId, status }));
  return command.map((c) => ({ header: h, command: c }));
});

function withTrailing<T extends object>(c: T, t: Uint8Array | undefined): T {
  return t === undefined ? c : { ...c, trailing: t };
}
const keArb: fc.Arbitrary<KeyEstablishmentCommand> = fc.oneof(
  fc.tuple(fc.constantFrom(1, 2), u8, u8, trailing).chain(([suite, e, c, t]) =>
    bytes(suite === 1 ? 48 : 74, suite === 1 ? 48 : 74).map((identity) =>
      withTrailing({ type: 'initiateKeyEstablishment' as const, suite, ephemeralDataGenerateTime: e, confirmKeyGenerateTime: c, identity }, t),
    ),
  ),
  fc.tuple(u16.filter((s) => s !== 1 && s !== 2), u8, u8, bytes(0, 80)).map(([suite, e, c, identity]) => ({
    type: 'initiateKeyEstablishment' as const,
    suite,
    ephemeralDataGenerateTime: e,
    confirmKeyGenerateTime: c,
    identity,
  })),
  fc.oneof(bytes(22, 22), bytes(37, 37)).map((point) => ({ type: 'ephemeralData' as const, point })),
  fc.tuple(bytes(16, 16), trailing).map(([mac, t]) => withTrailing({ type: 'confirmKeyData' as const, mac }, t)),
  fc.tuple(u8, u8, u16, trailing).map(([status, waitTime, suite, t]) => withTrailing({ type: 'terminateKeyEstablishment' as const, status, waitTime, suite }, t)),
  fc.tuple(fc.integer({ min: 4, max: 0xff }), bytes(0, 30)).map(([commandId, raw]) => ({ type: 'unknown' as const, commandId, raw })),
);

// ---- ZCL ---------------------------------------------------------------------------------------

describe('ZCL: vectors', () => {
  const zcl = VECTORS.filter((v) => v.layer === 'zcl');
  it.each(zcl.map((v) => [v.name, v] as const))('%s decodes to the documented fields and re-encodes exactly', (_n, v) => {
    const b = hexToBytes(v.hex);
    const d = decodeZclFrame(b);
    expect(d.offset).toBe(b.length);
    expect(plain(d.value)).toMatchObject(v.expect as object);
    expect(bytesToHex(encodeZclFrame(d.value))).toBe(v.hex);
  });

  it('character strings stay bytes on the hot path; zclStringText gives the text', () => {
    const f = decodeZclFrame(hexToBytes('1820010000002001040000420773656e676c6564')).value;
    if (f.command.type !== 'readAttributesResponse') throw new Error('type');
    expect(zclStringText(f.command.records[1].value as Uint8Array)).toBe('sengled');
  });

  it('header: manufacturer-specific, direction, disable default response, reserved bits', () => {
    const h = decodeZclHeader(hexToBytes('1d' + '5f11' + '42' + '0b')).value;
    expect(h).toStrictEqual({ frameType: 1, direction: 'server-to-client', disableDefaultResponse: true, reserved: 0, manufacturerCode: 0x115f, tsn: 0x42, commandId: 0x0b });
    expect(decodeZclHeader(hexToBytes('e0' + '00' + '00')).value.reserved).toBe(7);
  });

  it('Default Response and typed values of every supported type', () => {
    expect(decodeZclFrame(hexToBytes('18' + '07' + '0b' + '00' + '7e')).value.command).toStrictEqual({ type: 'defaultResponse', commandId: 0, status: 0x7e });
    expect(ZCL_STATUS_NAMES[0x7e]).toBe('NOT_AUTHORIZED');
    expect(ZCL_STATUS_NAMES[0x86]).toBe('UNSUPPORTED_ATTRIBUTE');
    const rec = (t: string, v: string) => decodeZclFrame(hexToBytes('180101' + '0000' + '00' + t + v)).value.command;
    const val = (t: string, v: string) => ((rec(t, v) as { records: ZclReadRecord[] }).records[0].value);
    expect(val('10', '01')).toBe(true);
    expect(val('10', '00')).toBe(false);
    expect(val('10', 'ff')).toBe(0xff); // invalid bool stays a number
    expect(val('22', '563412')).toBe(0x123456);
    expect(val('23', 'fffffffe')).toBe(0xfeffffff);
    expect(val('28', '80')).toBe(-128);
    expect(val('29', 'feff')).toBe(-2);
    expect(val('31', '0100')).toBe(1);
    expect(val('19', '0180')).toBe(0x8001);
    expect(val('41', 'ff')).toBe(null); // invalid octet string
    expect(bytesToHex(val('41', '03aabbcc') as Uint8Array)).toBe('aabbcc');
    expect(decodeZclFrame(hexToBytes('180101' + '0000' + '86')).value.command).toStrictEqual({ type: 'readAttributesResponse', records: [{ attributeId: 0, status: 0x86 }] });
  });
});

describe('ZCL: properties', () => {
  it('decode(encode(frame)) = frame', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const b = encodeZclFrame(f);
        const d = decodeZclFrame(b);
        expect(d.value).toStrictEqual(f);
        expect(d.offset).toBe(b.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes: exact re-encoding or a DecodeError inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 300 }), (b, base) => {
        const r = decodeOrDecodeError(() => decodeZclFrame(b, 0, base), 'zcl', base, base + b.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZclFrame(r.value))).toBe(bytesToHex(b));
      }),
      { numRuns: 10_000 },
    );
  });

  it('random Read Attributes Response bodies (record-shaped noise): exact or DecodeError', () => {
    // Mostly status 0 and a known type, then random value bytes: reaches every value decoder.
    const chunk = fc
      .tuple(bytes(2, 2), fc.oneof(fc.constant(0), u8), fc.oneof(fc.constantFrom(...DATA_TYPES), u8), bytes(0, 5))
      .map(([id, status, type, rest]) => Uint8Array.of(...id, status, type, ...rest));
    const noise = fc.array(chunk, { maxLength: 4 }).map((cs) => Uint8Array.from(cs.flatMap((c) => [...c])));
    fc.assert(
      fc.property(noise, (body) => {
        const b = new Uint8Array(3 + body.length);
        b.set([0x18, 0x01, 0x01]);
        b.set(body, 3);
        const r = decodeOrDecodeError(() => decodeZclFrame(b), 'zcl', 0, b.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZclFrame(r.value))).toBe(bytesToHex(b));
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('ZCL: bad input', () => {
  it('an unknown data type stops the decode with a DecodeError naming the type id', () => {
    // SCAPY fixture "ZCLGeneralReadAttributesResponse" uses data8 (0x08), which we do not decode.
    const e = thrown(() => decodeZclFrame(hexToBytes('00000100000008ee'), 0, 30));
    expect([e.layer, e.offset]).toEqual(['zcl', 36]);
    expect(e.reason).toBe('unsupported ZCL data type 0x08: value length unknown');
  });

  it('truncation at every length of every vector; lying string lengths', () => {
    for (const v of VECTORS.filter((x) => x.layer === 'zcl')) {
      const b = hexToBytes(v.hex);
      for (let n = 0; n < b.length; n++) {
        const r = decodeOrDecodeError(() => decodeZclFrame(b.subarray(0, n), 0, 3), 'zcl', 3, 3 + n);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeZclFrame(r.value))).toBe(bytesToHex(b.subarray(0, n)));
      }
    }
    const e = thrown(() => decodeZclFrame(hexToBytes('180101' + '0400' + '00' + '42' + '0a' + '73656e')));
    expect([e.offset, e.reason]).toEqual([8, 'truncated string: need 10 bytes, have 3']);
    expect(thrown(() => decodeZclFrame(hexToBytes('180100' + '00'))).reason).toBe('truncated attribute id: need 2 bytes, have 1');
    expect(thrown(() => decodeZclFrame(hexToBytes('04' + '5f'))).reason).toBe('truncated manufacturer code: need 2 bytes, have 1');
  });

  it('encode refuses values that do not match their data type', () => {
    const f = (dataType: number, value: ZclValue): ZclFrame => ({
      header: { frameType: 0, direction: 'server-to-client', disableDefaultResponse: true, reserved: 0, tsn: 1, commandId: 1 },
      command: { type: 'readAttributesResponse', records: [{ attributeId: 0, status: 0, dataType, value }] },
    });
    expect(() => encodeZclFrame(f(0x20, new Uint8Array(1)))).toThrow(TypeError);
    expect(() => encodeZclFrame(f(0x42, 5))).toThrow(RangeError);
    expect(() => encodeZclFrame(f(0x42, new Uint8Array(255)))).toThrow(RangeError);
    expect(() => encodeZclFrame(f(0x08, 1))).toThrow(RangeError);
  });
});

// ---- Key Establishment 0x0800 ------------------------------------------------------------------

describe('Key Establishment cluster', () => {
  const ke = VECTORS.filter((v) => v.layer === 'key-establishment');
  it.each(ke.map((v) => [v.name, v] as const))('%s decodes to the documented fields and re-encodes exactly', (_n, v) => {
    const b = hexToBytes(v.hex);
    const d = decodeKeFrame(b);
    expect(d.offset).toBe(b.length);
    expect(plain({ header: d.header, command: d.command })).toMatchObject(v.expect as object);
    expect(keyEstablishmentCommandId(d.command)).toBe(d.header.commandId);
    const zcl = decodeZclFrame(b).value;
    expect(bytesToHex(encodeZclFrame(zcl))).toBe(v.hex);
    expect(bytesToHex(encodeKeyEstablishmentCommand(d.command))).toBe(bytesToHex(b.subarray(decodeZclHeader(b).offset)));
  });

  it('the captured Initiate KE Response of crypto.md §4.7 (09 03 00 01 00 0B 10 …)', () => {
    const b = hexToBytes('090300' + '0100' + '0b' + '10' + '0306861705ec70578bdee50a439e9a188fce404b0863' + 'eeeeeeeeeeeeeeee' + '5445535453454341' + '0109000f000000000000');
    const d = decodeKeFrame(b);
    expect(d.header).toMatchObject({ frameType: 1, direction: 'server-to-client', tsn: 3, commandId: 0 });
    expect(keyEstablishmentCommandName(d.header.commandId, d.header.direction)).toBe('Initiate Key Establishment Response');
    expect(d.command).toMatchObject({ type: 'initiateKeyEstablishment', suite: KeyEstablishmentSuite.CBKE_K163, ephemeralDataGenerateTime: 0x0b, confirmKeyGenerateTime: 0x10 });
    if (d.command.type !== 'initiateKeyEstablishment') return;
    expect(d.command.identity.length).toBe(48);
    expect(bytesToHex(d.command.identity.subarray(22, 30))).toBe('eeeeeeeeeeeeeeee'); // subject
    expect(bytesToHex(d.command.identity.subarray(30, 38))).toBe('5445535453454341'); // issuer "TESTSECA"
  });

  it('Ephemeral Data: 22 bytes → suite 1, 37 → suite 2, anything else needs the negotiated suite', () => {
    const p22 = new Uint8Array(22).fill(3);
    const p37 = new Uint8Array(37).fill(2);
    expect(decodeKeyEstablishmentCommand(1, p22).value).toStrictEqual({ type: 'ephemeralData', point: p22 });
    expect(decodeKeyEstablishmentCommand(1, p37).value).toStrictEqual({ type: 'ephemeralData', point: p37 });
    const e = thrown(() => decodeKeyEstablishmentCommand(1, new Uint8Array(25), 0, 10));
    expect([e.layer, e.offset]).toEqual(['zcl', 10]);
    expect(e.reason).toMatch(/25 bytes fits neither suite 1 \(22\) nor suite 2 \(37\)/);
    // With the suite known, the point takes its size and the rest is kept.
    expect(decodeKeyEstablishmentCommand(1, new Uint8Array(25), 0, 0, { suite: 1 }).value).toStrictEqual({ type: 'ephemeralData', point: new Uint8Array(22), trailing: new Uint8Array(3) });
    expect(thrown(() => decodeKeyEstablishmentCommand(1, new Uint8Array(25), 0, 0, { suite: 2 })).reason).toBe('truncated ephemeral data point: need 37 bytes, have 25');
  });

  it('Initiate: the certificate length follows from the suite', () => {
    const e = thrown(() => decodeKeyEstablishmentCommand(0, hexToBytes('0200' + '0b10' + '00'.repeat(48)), 0, 3));
    expect([e.layer, e.offset, e.reason]).toEqual(['zcl', 7, 'truncated suite 2 certificate: need 74 bytes, have 48']);
    // An unknown suite value: the identity is the rest, as far as it goes.
    expect(decodeKeyEstablishmentCommand(0, hexToBytes('0300' + '0b10' + 'aabb')).value).toStrictEqual({
      type: 'initiateKeyEstablishment',
      suite: 3,
      ephemeralDataGenerateTime: 11,
      confirmKeyGenerateTime: 16,
      identity: hexToBytes('aabb'),
    });
  });

  it('Terminate, status names and command names', () => {
    expect(decodeKeyEstablishmentCommand(3, hexToBytes('061e0200')).value).toStrictEqual({ type: 'terminateKeyEstablishment', status: 6, waitTime: 30, suite: 2 });
    expect(KEY_ESTABLISHMENT_STATUS_NAMES[1]).toBe('UNKNOWN_ISSUER');
    expect(KEY_ESTABLISHMENT_STATUS_NAMES[6]).toBe('INVALID_CERTIFICATE');
    expect(keyEstablishmentCommandName(2, 'client-to-server')).toBe('Confirm Key Data Request');
    expect(keyEstablishmentCommandName(1, 'server-to-client')).toBe('Ephemeral Data Response');
    expect(keyEstablishmentCommandName(3, 'server-to-client')).toBe('Terminate Key Establishment');
  });

  it('decode(encode(command)) = command; random payloads decode exactly or fail with a DecodeError', () => {
    fc.assert(
      fc.property(keArb, (c) => {
        const b = encodeKeyEstablishmentCommand(c);
        const d = decodeKeyEstablishmentCommand(keyEstablishmentCommandId(c), b);
        expect(d.value).toStrictEqual(c);
        expect(d.offset).toBe(b.length);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 90 }), fc.option(fc.constantFrom(1, 2, 7), { nil: undefined }), (id, b, suite) => {
        const r = decodeOrDecodeError(() => decodeKeyEstablishmentCommand(id, b, 0, 0, { suite }), 'zcl', 0, b.length);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeKeyEstablishmentCommand(r.value))).toBe(bytesToHex(b));
      }),
      { numRuns: 10_000 },
    );
  });

  it('truncation at every length of every KE vector', () => {
    for (const v of ke) {
      const b = hexToBytes(v.hex);
      for (let n = 0; n < b.length; n++) {
        const r = decodeOrDecodeError(() => decodeKeFrame(b.subarray(0, n), 2), 'zcl', 2, 2 + n);
        if (!(r instanceof DecodeError)) expect(bytesToHex(encodeKeyEstablishmentCommand(r.command))).toBe(bytesToHex(b.subarray(3, n)));
      }
    }
  });

  it('encode validates sizes against the suite', () => {
    expect(() => encodeKeyEstablishmentCommand({ type: 'initiateKeyEstablishment', suite: 1, ephemeralDataGenerateTime: 1, confirmKeyGenerateTime: 1, identity: new Uint8Array(74) })).toThrow(RangeError);
    expect(() => encodeKeyEstablishmentCommand({ type: 'ephemeralData', point: new Uint8Array(21) })).toThrow(RangeError);
    expect(() => encodeKeyEstablishmentCommand({ type: 'confirmKeyData', mac: new Uint8Array(15) })).toThrow(RangeError);
  });
});

// ---- Keep-Alive 0x0025 -------------------------------------------------------------------------

describe('Keep-Alive cluster', () => {
  const respond = (hex: string) => {
    const c = decodeZclFrame(hexToBytes('180501' + hex)).value.command;
    if (c.type !== 'readAttributesResponse') throw new Error('type');
    return readKeepAliveParameters(c.records);
  };

  it('attributes, types, ranges and defaults as protocol.md §6.3 gives them', () => {
    expect(TC_KEEP_ALIVE_BASE).toMatchObject({ id: 0x0000, dataType: 0x20, unit: 'minutes', min: 0x01, max: 0xff, default: 10 });
    expect(TC_KEEP_ALIVE_JITTER).toMatchObject({ id: 0x0001, dataType: 0x21, unit: 'seconds', min: 0, max: 0x0200, default: 300 });
    expect(KEEP_ALIVE_FAILURE_LIMIT).toBe(3);
    expect(keepAliveIntervalBoundsMs(10, 300)).toEqual({ min: 600_000, max: 900_000 });
  });

  it('a response with the defaults is usable', () => {
    expect(respond('000000200a' + '010000212c01')).toEqual({ base: 10, jitter: 300, problems: [] });
  });

  it('flags missing, failed, mistyped and out-of-range attributes', () => {
    expect(respond('000000200a').problems).toMatchObject([{ attributeId: 1, code: 'missing' }]);
    expect(respond('000086' + '010000212c01').problems).toMatchObject([{ attributeId: 0, code: 'status' }]);
    // Base encoded as uint16 (the bug of protocol.md §9.5) is a wrong data type.
    expect(respond('000000210a00' + '010000212c01').problems).toMatchObject([{ attributeId: 0, code: 'data-type' }]);
    const r = respond('0000002000' + '0100002101' + '02');
    expect(r.problems.map((p) => [p.attributeId, p.code])).toEqual([
      [0, 'out-of-range'],
      [1, 'out-of-range'],
    ]);
    expect(r.problems[1].message).toBe('TC Keep-Alive Jitter = 513 seconds, allowed 0..512');
  });
});
