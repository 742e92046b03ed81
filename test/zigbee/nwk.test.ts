// Zigbee NWK codec: published and hand-assembled frames (vectors/zigbee-frames.json), round-trip
// properties for the header and every command, and bad input. Decryption of the secured frames
// is in security.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { DecodeError, eui64FromAir } from '../../harness/zigbee/codec.ts';
import { decodeMacFrame } from '../../harness/zigbee/ieee802154.ts';
import {
  decodeNwkCommand, decodeNwkFrame, decodeNwkHeader, encodeNwkCommand, encodeNwkFrame, encodeNwkHeader, endDeviceTimeoutSeconds,
  type NwkCommand, type NwkFrame, type NwkHeader,
} from '../../harness/zigbee/nwk.ts';
import type { AuxSecurityHeader } from '../../harness/zigbee/security.ts';
import vectors from '../../vectors/zigbee-frames.json' with { type: 'json' };

type Vec = { id: string; psdu?: string; nwk?: string; expect: { nwk?: object; nwkPayload?: string } };
const nwkVectors = (vectors.frames as Vec[]).filter((f) => f.expect.nwk);

/** The NWK bytes of a vector: the MAC payload of a PSDU, or the `nwk` hex itself; and their absolute start. */
function nwkBytesOf(v: Vec): { bytes: Uint8Array; base: number } {
  if (v.nwk) return { bytes: hexToBytes(v.nwk), base: 0 };
  const psdu = hexToBytes(v.psdu!);
  const mac = decodeMacFrame(psdu, { hasFcs: true });
  return { bytes: psdu.subarray(mac.payloadOffset, psdu.length - 2), base: mac.payloadOffset };
}

function onlyDecodeError(fn: () => unknown): DecodeError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`expected DecodeError, got ${String(e)}`);
    return e;
  }
}

describe('published and hand-assembled NWK frames', () => {
  it.each(nwkVectors.map((v) => [v.id, v] as const))('%s decodes to the documented fields and re-encodes byte for byte', (_id, v) => {
    const { bytes, base } = nwkBytesOf(v);
    const d = decodeNwkFrame(bytes, 0, base);
    expect(d.value).toMatchObject({ kind: 'nwk', ...v.expect.nwk });
    if (v.expect.nwkPayload) expect(bytesToHex((d.value as { body: { payload: Uint8Array } }).body.payload)).toBe(v.expect.nwkPayload);
    expect(bytesToHex(encodeNwkFrame(d.value))).toBe(bytesToHex(bytes));
    expect(d.offset).toBe(bytes.length);
  });
  it('splits a secured frame where unsecureLayer needs it: header | aux | ciphertext ‖ MIC', () => {
    const { bytes } = nwkBytesOf(nwkVectors.find((v) => v.id === 'nwk-route-record-relayed')!);
    const d = decodeNwkFrame(bytes);
    expect([d.headerEnd, d.payloadOffset]).toEqual([8 + 16, 8 + 16 + 14]);
    expect(bytesToHex(bytes.subarray(d.headerEnd, d.headerEnd + 1))).toBe('28');
  });
  it('leaves Green Power stub frames alone (ZOH NETDEF_ZGP_FRAME_BCAST_RECALL_SCENE_0 NWK part)', () => {
    const gp = hexToBytes('8c30979671' + '01b9000000' + '10feebfdd1');
    expect(decodeNwkFrame(gp).value).toEqual({ kind: 'greenPower', raw: gp });
    expect(encodeNwkFrame({ kind: 'greenPower', raw: gp })).toEqual(gp);
  });
  it('lays out inter-PAN frames as the frame control only', () => {
    const b = hexToBytes('0b00' + 'aabbcc');
    const d = decodeNwkFrame(b).value as Extract<NwkFrame, { kind: 'nwk' }>;
    expect(d.header).toEqual({ frameType: 3, protocolVersion: 2, discoverRoute: 0, multicast: false, security: false, sourceRoute: false, extendedDestination: false, extendedSource: false, endDeviceInitiator: false });
    expect(d.body).toEqual({ kind: 'interPan', payload: hexToBytes('aabbcc') });
  });
  it('reads the command id that follows Network Status 0x13 (unknown command)', () => {
    expect(decodeNwkCommand(hexToBytes('03138fa10d')).value).toEqual({ kind: 'networkStatus', status: 0x13, destination: 0xa18f, unknownCommandId: 0x0d });
  });
  it('maps the end-device timeout enum to seconds', () => {
    expect([0, 1, 8, 14].map(endDeviceTimeoutSeconds)).toEqual([10, 120, 256 * 60, 16384 * 60]);
  });
});

// ---- arbitraries --------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map(eui64FromAir);
const bytes = (maxLength = 24, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const bits = (n: number) => fc.integer({ min: 0, max: (1 << n) - 1 });

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
/** A reserved-bits field: absent, or a non-zero value within `mask`. */
const reserved = (mask: number) => opt(fc.integer({ min: 1, max: 0xff }).map((x) => x & mask).filter((x) => x !== 0));

const header = (frameType: fc.Arbitrary<number>, security: fc.Arbitrary<boolean>): fc.Arbitrary<NwkHeader> =>
  fc
    .record({
      frameType, protocolVersion: bits(4).filter((v) => v !== 3), discoverRoute: bits(2), multicast: fc.boolean(), security,
      sourceRoute: fc.boolean(), extendedDestination: fc.boolean(), extendedSource: fc.boolean(), endDeviceInitiator: fc.boolean(),
      reserved: opt(fc.integer({ min: 1, max: 3 })),
    })
    .chain((h) =>
      h.frameType === 3
        ? fc.constant(strip(h) as NwkHeader)
        : fc
            .record({
              dst16: u16, src16: u16, radius: u8, seq: u8,
              dst64: h.extendedDestination ? eui : fc.constant(undefined),
              src64: h.extendedSource ? eui : fc.constant(undefined),
              multicastControl: h.multicast ? fc.record({ mode: bits(2), nonmemberRadius: bits(3), maxNonmemberRadius: bits(3) }) : fc.constant(undefined),
              sourceRouteSubframe: h.sourceRoute ? fc.record({ relayIndex: u8, relays: fc.array(u16, { maxLength: 10 }) }) : fc.constant(undefined),
            })
            .map((f) => strip({ ...h, ...f } as NwkHeader)),
    );

const capability = fc
  .record({
    alternatePanCoordinator: fc.boolean(), fullFunctionDevice: fc.boolean(), mainsPowered: fc.boolean(), rxOnWhenIdle: fc.boolean(),
    reserved: opt(fc.integer({ min: 1, max: 3 })), securityCapability: fc.boolean(), allocateAddress: fc.boolean(),
  })
  .map(strip);

const knownIds = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
const commandBody: fc.Arbitrary<NwkCommand> = fc.oneof(
  fc.record({ kind: fc.constant('routeRequest' as const), manyToOne: bits(2), multicast: fc.boolean(), optionsReserved: reserved(0x87), routeRequestId: u8, dst16: u16, pathCost: u8, dst64: opt(eui) }),
  fc.record({ kind: fc.constant('routeReply' as const), multicast: fc.boolean(), optionsReserved: reserved(0x8f), routeRequestId: u8, originator16: u16, responder16: u16, pathCost: u8, originator64: opt(eui), responder64: opt(eui) }),
  fc.record({ kind: fc.constant('networkStatus' as const), status: u8.filter((x) => x !== 0x13), destination: u16 }),
  fc.record({ kind: fc.constant('networkStatus' as const), status: fc.constant(0x13), destination: u16, unknownCommandId: opt(u8) }),
  fc.record({ kind: fc.constant('leave' as const), rejoin: fc.boolean(), request: fc.boolean(), removeChildren: fc.boolean(), optionsReserved: reserved(0x1f) }),
  fc.record({ kind: fc.constant('routeRecord' as const), relays: fc.array(u16, { maxLength: 20 }) }),
  fc.record({ kind: fc.constant('rejoinRequest' as const), capability }),
  fc.record({ kind: fc.constant('rejoinResponse' as const), nwkAddress: u16, status: u8 }),
  fc.record({
    kind: fc.constant('linkStatus' as const), firstFrame: fc.boolean(), lastFrame: fc.boolean(), optionsReserved: reserved(0x80),
    links: fc.array(fc.record({ address: u16, incomingCost: bits(3), outgoingCost: bits(3), reserved: reserved(0x88) }).map(strip), { maxLength: 31 }),
  }),
  fc.oneof(
    fc.record({ kind: fc.constant('networkReport' as const), reportType: fc.constant(0), extendedPanId: eui, panIds: fc.array(u16, { maxLength: 31 }) }),
    fc.record({ kind: fc.constant('networkReport' as const), reportType: fc.integer({ min: 1, max: 7 }), extendedPanId: eui, infoCount: bits(5), info: bytes(12) }),
  ),
  fc.oneof(
    fc.record({ kind: fc.constant('networkUpdate' as const), updateType: fc.constant(0), extendedPanId: eui, updateId: u8, newPanId: u16 }),
    fc.record({ kind: fc.constant('networkUpdate' as const), updateType: fc.integer({ min: 1, max: 7 }), extendedPanId: eui, updateId: u8, infoCount: bits(5), info: bytes(12) }),
    fc.record({ kind: fc.constant('networkUpdate' as const), updateType: fc.constant(0), extendedPanId: eui, updateId: u8, infoCount: bits(5).filter((n) => n !== 1), info: bytes(12) }),
  ),
  fc.record({ kind: fc.constant('endDeviceTimeoutRequest' as const), requestedTimeout: u8, configuration: u8 }),
  fc.record({ kind: fc.constant('endDeviceTimeoutResponse' as const), status: u8, macDataPollKeepalive: fc.boolean(), timeoutRequestKeepalive: fc.boolean(), powerNegotiation: fc.boolean(), parentInfoReserved: reserved(0xf8) }),
  fc.record({ kind: fc.constant('unknown' as const), id: u8.filter((i) => !knownIds.has(i)), raw: bytes(16) }),
).map((c) => strip(c as NwkCommand));

/** Commands whose last field runs to the end of the frame cannot carry trailing bytes. */
const command: fc.Arbitrary<NwkCommand> = fc.tuple(commandBody, opt(bytes(6, 1))).map(([c, t]) =>
  t && c.kind !== 'unknown' && !('info' in c) && !(c.kind === 'networkStatus' && c.status === 0x13 && c.unknownCommandId === undefined) ? { ...c, trailing: t } : c,
);

const aux: fc.Arbitrary<AuxSecurityHeader> = fc
  .record({ level: bits(3), keyId: bits(2), extendedNonce: fc.boolean(), requireVerifiedFrameCounter: fc.boolean(), reserved: opt(fc.constant(1)), frameCounter: fc.integer({ min: 0, max: 0xffffffff }) })
  .chain((a) => fc.record({ source64: a.extendedNonce ? eui : fc.constant(undefined), keySeq: a.keyId === 1 ? u8 : fc.constant(undefined) }).map((s) => strip({ ...a, ...s })));

const nwkFrame: fc.Arbitrary<NwkFrame> = fc.oneof(
  fc.tuple(header(fc.constant(0), fc.constant(false)), bytes(30)).map(([h, p]) => ({ kind: 'nwk' as const, header: h, body: { kind: 'data' as const, payload: p } })),
  fc.tuple(header(fc.constant(1), fc.constant(false)), command).map(([h, c]) => ({ kind: 'nwk' as const, header: h, body: { kind: 'command' as const, command: c } })),
  fc.tuple(header(fc.constant(2), fc.constant(false)), bytes(30)).map(([h, p]) => ({ kind: 'nwk' as const, header: h, body: { kind: 'raw' as const, payload: p } })),
  fc.tuple(header(fc.constant(3), fc.boolean()), bytes(30)).map(([h, p]) => ({ kind: 'nwk' as const, header: h, body: { kind: 'interPan' as const, payload: p } })),
  fc.tuple(header(fc.integer({ min: 0, max: 2 }), fc.constant(true)), aux, bytes(40, 4)).map(([h, a, e]) => ({ kind: 'nwk' as const, header: h, body: { kind: 'secured' as const, aux: a, encrypted: e } })),
);

describe('round trips (fast-check)', () => {
  it('header', () => {
    fc.assert(fc.property(header(bits(2), fc.boolean()), (h) => {
      expect(decodeNwkHeader(encodeNwkHeader(h)).value).toEqual(h);
    }), { numRuns: 2000 });
  });
  it('every command kind', () => {
    fc.assert(fc.property(command, (c) => {
      const b = encodeNwkCommand(c);
      const d = decodeNwkCommand(b);
      expect(d.value).toEqual(c);
      expect(d.offset).toBe(b.length);
    }), { numRuns: 5000 });
  });
  it('whole frames: decode(encode(x)) = x', () => {
    fc.assert(fc.property(nwkFrame, (f) => {
      expect(decodeNwkFrame(encodeNwkFrame(f)).value).toEqual(f);
    }), { numRuns: 5000 });
  });
  it('encode(decode(bytes)) = bytes for any bytes that decode', () => {
    fc.assert(fc.property(bytes(60), (b) => {
      const e = onlyDecodeError(() => expect(bytesToHex(encodeNwkFrame(decodeNwkFrame(b).value))).toBe(bytesToHex(b)));
      if (e) expect(e.layer).toBe('nwk');
    }), { numRuns: 10_000 });
  });
});

describe('bad input only ever raises DecodeError with the NWK layer and a sensible offset', () => {
  it.each(['nwk-aps-request-key', 'nwk-route-record-relayed', 'nwk-link-status', 'nwk-rejoin-request-tc', 'nwk-source-routed-data', 'nwk-network-update-pan-id'])(
    'every truncation of %s',
    (id) => {
      const { bytes: b, base } = nwkBytesOf(nwkVectors.find((v) => v.id === id)!);
      for (let n = 0; n < b.length; n++) {
        const e = onlyDecodeError(() => decodeNwkFrame(b.subarray(0, n), 0, base));
        if (e) {
          expect(e.layer).toBe('nwk');
          expect(e.offset).toBeGreaterThanOrEqual(base);
          expect(e.offset).toBeLessThanOrEqual(base + n);
        }
      }
    },
  );
  it('random bytes, also as commands', () => {
    fc.assert(fc.property(bytes(80), (b) => {
      for (const fn of [() => decodeNwkFrame(b, 0, 7), () => decodeNwkCommand(b, 0, 7)]) {
        const e = onlyDecodeError(fn);
        if (e) {
          expect(e.layer).toBe('nwk');
          expect(e.offset).toBeGreaterThanOrEqual(7);
          expect(e.offset).toBeLessThanOrEqual(7 + b.length);
        }
      }
    }), { numRuns: 10_000 });
  });
  it('counts that lie', () => {
    // Route record claims 5 relays, carries 1: the error points at the relay list.
    expect(onlyDecodeError(() => decodeNwkCommand(hexToBytes('0505ba96'), 0, 30))).toMatchObject({ layer: 'nwk', offset: 32, reason: 'truncated relay list: need 10 bytes, have 2' });
    // Link status claims 17 entries, carries 2.
    expect(onlyDecodeError(() => decodeNwkCommand(hexToBytes('0871' + '000011' + '7c0b77'))))?.toMatchObject({ offset: 2, reason: expect.stringMatching(/link status list/) });
    // Source route subframe claims 3 relays, frame ends after 1.
    expect(onlyDecodeError(() => decodeNwkFrame(hexToBytes('08048fa100001e32' + '0300' + '3412'))))?.toMatchObject({ offset: 10, reason: expect.stringMatching(/relay list/) });
    // Secured frame whose ciphertext ‖ MIC is shorter than the MIC.
    expect(onlyDecodeError(() => decodeNwkFrame(hexToBytes('48020000' + '8fa11e27' + '28d9820000df0f289b6d38c1a400' + 'aabbcc'))))?.toMatchObject({ offset: 22, reason: expect.stringMatching(/shorter than the 4-byte MIC/) });
  });
});

describe('encoder checks', () => {
  it('refuses a header whose optional fields contradict the frame control, and a body that contradicts the security bit', () => {
    const h = decodeNwkHeader(hexToBytes('0918' + '00008fa1012a' + 'f99905feff504b80' + 'df0f289b6d38c1a4')).value;
    expect(() => encodeNwkHeader({ ...h, src64: undefined })).toThrow(/"src64" must be given/);
    expect(() => encodeNwkFrame({ kind: 'nwk', header: { ...h, security: true }, body: { kind: 'command', command: { kind: 'leave', rejoin: false, request: false, removeChildren: false } } })).toThrow(/security bit/);
  });
});
