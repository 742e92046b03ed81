// NWK/APS security: the auxiliary header, the key-id derivations, and CCM* applied to real
// captured frames (vectors/zigbee-frames.json): decrypting gives the plaintext Wireshark shows,
// re-encrypting reproduces the captured bytes exactly, and any tampering is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { createCcmStar, restoreSecurityLevel, zigbeeNonce } from '../../harness/crypto/ccm-star.ts';
import { DecodeError, eui64FromAir } from '../../harness/zigbee/codec.ts';
import { decodeMacFrame } from '../../harness/zigbee/ieee802154.ts';
import { decodeNwkCommand, decodeNwkFrame, type NwkFrame } from '../../harness/zigbee/nwk.ts';
import {
  auxHeaderLength, decodeAuxSecurityHeader, encodeAuxSecurityHeader, keyForKeyId, secureLayer, unsecureLayer,
  type AuxSecurityHeader, type UnsecureResult,
} from '../../harness/zigbee/security.ts';
import vectors from '../../vectors/zigbee-frames.json' with { type: 'json' };

type Vec = {
  id: string; psdu?: string; keys?: { network?: string; link?: string };
  expect: { nwkPlaintext?: string; nwkCommand?: object; nonce?: string; aps?: { headerLength: number; aux: object; plaintext: string } };
};
const NWK_KEY = hexToBytes(vectors.keys.network);
const TCLK = hexToBytes(vectors.keys.link);
const secured = (vectors.frames as Vec[]).filter((v) => v.psdu && v.keys);

/** One secured layer of a captured frame, cut where the codecs cut it. */
interface Layer { header: Uint8Array; auxBytes: Uint8Array; aux: AuxSecurityHeader; body: Uint8Array }

function nwkLayerOf(v: Vec): { nwk: Uint8Array; frame: Extract<NwkFrame, { kind: 'nwk' }>; layer?: Layer } {
  const psdu = hexToBytes(v.psdu!);
  const mac = decodeMacFrame(psdu, { hasFcs: true });
  const nwk = psdu.subarray(mac.payloadOffset, psdu.length - 2);
  const d = decodeNwkFrame(nwk, 0, mac.payloadOffset);
  const frame = d.value as Extract<NwkFrame, { kind: 'nwk' }>;
  if (frame.body.kind !== 'secured') return { nwk, frame };
  return { nwk, frame, layer: { header: nwk.subarray(0, d.headerEnd), auxBytes: nwk.subarray(d.headerEnd, d.payloadOffset), aux: frame.body.aux, body: frame.body.encrypted } };
}

/** The APS layer inside a NWK payload (header length from the vector: aps.ts is another module's job). */
function apsLayerOf(aps: Uint8Array, headerLength: number): Layer {
  const a = decodeAuxSecurityHeader(aps, headerLength, 0, 'aps');
  return { header: aps.subarray(0, headerLength), auxBytes: aps.subarray(headerLength, a.offset), aux: a.value, body: aps.subarray(a.offset) };
}

function open(l: Layer, key: Uint8Array): UnsecureResult {
  return unsecureLayer({ ...l, key: keyForKeyId(l.aux.keyId, key) });
}

function plaintextOf(r: UnsecureResult): string {
  if (!r.ok) throw new Error(`unsecure failed: ${r.reason}`);
  return bytesToHex(r.plaintext);
}

describe('auxiliary security header', () => {
  it('decodes the captured headers (control byte 0x28 / 0x20 / 0x30 / 0x38 on air)', () => {
    const nwk = nwkLayerOf(secured.find((v) => v.id === 'nwk-aps-request-key')!).layer!;
    expect(bytesToHex(nwk.auxBytes)).toBe('28d9820000df0f289b6d38c1a400');
    expect(nwk.aux).toEqual({ level: 0, keyId: 1, extendedNonce: true, requireVerifiedFrameCounter: false, frameCounter: 33497, source64: 'a4c1386d9b280fdf', keySeq: 0 });
    expect(decodeAuxSecurityHeader(hexToBytes('3807500100f99905feff504b80'), 0, 0, 'aps').value)
      .toEqual({ level: 0, keyId: 3, extendedNonce: true, requireVerifiedFrameCounter: false, frameCounter: 86023, source64: '804b50fffe0599f9' });
  });
  it('round-trips every combination of fields (fast-check)', () => {
    const aux = fc
      .record({ level: fc.integer({ min: 0, max: 7 }), keyId: fc.integer({ min: 0, max: 3 }), extendedNonce: fc.boolean(), requireVerifiedFrameCounter: fc.boolean(), reserved: fc.option(fc.constant(1), { nil: undefined }), frameCounter: fc.integer({ min: 0, max: 0xffffffff }) })
      .chain((a) => fc.record({ source64: a.extendedNonce ? fc.uint8Array({ minLength: 8, maxLength: 8 }).map(eui64FromAir) : fc.constant(undefined), keySeq: a.keyId === 1 ? fc.integer({ min: 0, max: 255 }) : fc.constant(undefined) }).map((s) => ({ ...a, ...s })));
    fc.assert(fc.property(aux, (a) => {
      const b = encodeAuxSecurityHeader(a);
      expect(b.length).toBe(auxHeaderLength(a));
      const d = decodeAuxSecurityHeader(b);
      expect(d.value).toEqual(a);
      expect(d.offset).toBe(b.length);
      for (let n = 0; n < b.length; n++) {
        expect(() => decodeAuxSecurityHeader(b.subarray(0, n), 0, 50, 'aps')).toThrow(DecodeError);
      }
    }), { numRuns: 2000 });
  });
  it('reports truncation in the layer it belongs to', () => {
    try {
      decodeAuxSecurityHeader(hexToBytes('28d982'), 0, 40, 'aps');
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ layer: 'aps', offset: 41, reason: 'truncated frame counter: need 4 bytes, have 2' });
    }
  });
  it('refuses to encode fields that contradict the control bits', () => {
    expect(() => encodeAuxSecurityHeader({ level: 0, keyId: 1, extendedNonce: false, requireVerifiedFrameCounter: false, frameCounter: 1 })).toThrow(/keySeq/);
    expect(() => encodeAuxSecurityHeader({ level: 0, keyId: 0, extendedNonce: true, requireVerifiedFrameCounter: false, frameCounter: 1 })).toThrow(/source64/);
  });
});

describe('keyForKeyId', () => {
  it('applies the key-transport and key-load derivations (hmac-mmo.json values for ZigBeeAlliance09)', () => {
    expect(keyForKeyId(0, TCLK)).toBe(TCLK);
    expect(keyForKeyId(1, NWK_KEY)).toBe(NWK_KEY);
    expect(bytesToHex(keyForKeyId(2, TCLK))).toBe('4bab0f173e1434a2d572e1c1ef478782');
    expect(bytesToHex(keyForKeyId(3, TCLK))).toBe('c5a47035c332ccbf251571d8baded188');
    expect(() => keyForKeyId(4, TCLK)).toThrow(RangeError);
  });
});

describe('real frames: decrypt, re-encrypt byte for byte, refuse tampering', () => {
  it('the Request Key frame of protocol.md §2.4, layer by layer', () => {
    const { layer: nwk } = nwkLayerOf(secured.find((v) => v.id === 'nwk-aps-request-key')!);
    const r = open(nwk!, NWK_KEY);
    expect(plaintextOf(r)).toBe('2183' + '20d8820000df0f289b6d38c1a4' + '8b95' + '7aaf0c60');
    const aps = apsLayerOf((r as { plaintext: Uint8Array }).plaintext, 2);
    expect(plaintextOf(open(aps, TCLK))).toBe('0804');
  });

  it.each(secured.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const { nwk, frame, layer } = nwkLayerOf(v);
    let apsBytes: Uint8Array;
    if (layer) {
      const r = open(layer, NWK_KEY);
      const pt = plaintextOf(r);
      if (v.expect.nwkPlaintext) expect(pt).toBe(v.expect.nwkPlaintext);
      if (v.expect.nwkCommand) expect(decodeNwkCommand(hexToBytes(pt)).value).toEqual(v.expect.nwkCommand);
      if (v.expect.nonce) expect(bytesToHex(zigbeeNonce(layer.auxBytes.subarray(5, 13), layer.aux.frameCounter, restoreSecurityLevel(layer.auxBytes[0])))).toBe(v.expect.nonce);
      // Re-encrypting the plaintext reproduces the captured aux ‖ ciphertext ‖ MIC exactly.
      const again = secureLayer({ header: layer.header, aux: layer.aux, payload: hexToBytes(pt), key: NWK_KEY });
      expect(bytesToHex(again)).toBe(bytesToHex(nwk.subarray(layer.header.length)));
      apsBytes = hexToBytes(pt);
    } else {
      apsBytes = (frame.body as { payload: Uint8Array }).payload;
    }
    const apsExp = v.expect.aps;
    if (!apsExp) return;
    const aps = apsLayerOf(apsBytes, apsExp.headerLength);
    expect(aps.aux).toMatchObject(apsExp.aux);
    const linkKey = hexToBytes(v.keys!.link!);
    const pt = plaintextOf(open(aps, linkKey));
    expect(pt).toBe(apsExp.plaintext);
    const again = secureLayer({ header: aps.header, aux: aps.aux, payload: hexToBytes(pt), key: keyForKeyId(aps.aux.keyId, linkKey) });
    expect(bytesToHex(again)).toBe(bytesToHex(apsBytes.subarray(apsExp.headerLength)));
  });

  it('every byte of header, aux header, ciphertext and MIC is authenticated', () => {
    for (const v of secured) {
      const { layer } = nwkLayerOf(v);
      if (!layer) continue;
      const parts = ['header', 'auxBytes', 'body'] as const;
      for (const part of parts) {
        for (let i = 0; i < layer[part].length; i++) {
          const tampered = layer[part].slice();
          tampered[i] ^= 0x80; // bit 7 of the control byte is the reserved bit: authenticated too
          expect(open({ ...layer, [part]: tampered }, NWK_KEY)).toEqual({ ok: false, reason: 'mic-mismatch' });
        }
      }
    }
  });

  it('the level bits of the control byte are not: Zigbee restores them to 5 on both ends', () => {
    const { layer } = nwkLayerOf(secured.find((v) => v.id === 'nwk-device-annce')!);
    const auxBytes = layer!.auxBytes.slice();
    auxBytes[0] |= 0x05; // level 5 on air instead of 000
    expect(open({ ...layer!, auxBytes }, NWK_KEY).ok).toBe(true);
  });

  it('a wrong key, a short body and a missing nonce source are values, not exceptions', () => {
    const { layer } = nwkLayerOf(secured.find((v) => v.id === 'nwk-leave-broadcast')!);
    expect(open(layer!, TCLK)).toEqual({ ok: false, reason: 'mic-mismatch' });
    expect(unsecureLayer({ ...layer!, body: layer!.body.subarray(0, 3), key: NWK_KEY })).toEqual({ ok: false, reason: 'too-short' });
    expect(unsecureLayer({ ...layer!, auxBytes: layer!.auxBytes.subarray(0, 9), key: NWK_KEY })).toEqual({ ok: false, reason: 'too-short' });
    const noExt = Uint8Array.of(0x08, 1, 0, 0, 0, 0);
    expect(unsecureLayer({ header: layer!.header, auxBytes: noExt, body: layer!.body, key: NWK_KEY })).toEqual({ ok: false, reason: 'no-source-address' });
  });

  it('accepts a CCM* instance already bound to the key (what a decoder caches)', () => {
    const { layer } = nwkLayerOf(secured.find((v) => v.id === 'nwk-many-to-one-route-request')!);
    const ccm = createCcmStar(NWK_KEY);
    for (let i = 0; i < 3; i++) expect(plaintextOf(unsecureLayer({ ...layer!, key: ccm }))).toBe('010835fcff00');
  });
});

describe('APS frames without the extended nonce take the source from the caller', () => {
  it('secures and opens with source64 given as EUI-64 or as on-air bytes', () => {
    const header = hexToBytes('2183');
    const aux: AuxSecurityHeader = { level: 0, keyId: 0, extendedNonce: false, requireVerifiedFrameCounter: false, frameCounter: 33496 };
    const sealed = secureLayer({ header, aux, payload: hexToBytes('0804'), key: TCLK, source64: 'a4c1386d9b280fdf' });
    expect(sealed.length).toBe(5 + 2 + 4);
    expect(bytesToHex(sealed.subarray(0, 5))).toBe('00d8820000'); // level 000 on air
    const layer = { header, auxBytes: sealed.subarray(0, 5), body: sealed.subarray(5), key: TCLK };
    expect(plaintextOf(unsecureLayer({ ...layer, source64: 'a4c1386d9b280fdf' }))).toBe('0804');
    expect(plaintextOf(unsecureLayer({ ...layer, source64: hexToBytes('df0f289b6d38c1a4') }))).toBe('0804');
    expect(unsecureLayer({ ...layer, source64: '804b50fffe0599f9' })).toEqual({ ok: false, reason: 'mic-mismatch' });
    expect(unsecureLayer(layer)).toEqual({ ok: false, reason: 'no-source-address' });
    expect(() => secureLayer({ header, aux, payload: hexToBytes('0804'), key: TCLK })).toThrow(/source64/);
  });
  it('puts level 000 on air whatever level the aux header carries', () => {
    const aux: AuxSecurityHeader = { level: 5, keyId: 1, extendedNonce: true, requireVerifiedFrameCounter: true, frameCounter: 7, source64: 'a4c1386d9b280fdf', keySeq: 3 };
    const sealed = secureLayer({ header: hexToBytes('0802'), aux, payload: new Uint8Array(3), key: NWK_KEY });
    expect(sealed[0]).toBe(0x68); // key id 1, extended nonce, require verified FC, level 0
  });
});

describe('secureLayer / unsecureLayer properties (fast-check)', () => {
  const input = fc.record({
    header: fc.uint8Array({ maxLength: 30 }),
    keyId: fc.integer({ min: 0, max: 3 }),
    extendedNonce: fc.boolean(),
    requireVerifiedFrameCounter: fc.boolean(),
    frameCounter: fc.integer({ min: 0, max: 0xffffffff }),
    src: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    keySeq: fc.integer({ min: 0, max: 255 }),
    payload: fc.uint8Array({ maxLength: 80 }),
    key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    flip: fc.nat(),
  });
  it('open(seal(x)) = x, and any flipped bit outside the level bits is refused', () => {
    fc.assert(fc.property(input, (t) => {
      const aux: AuxSecurityHeader = {
        level: 0, keyId: t.keyId, extendedNonce: t.extendedNonce, requireVerifiedFrameCounter: t.requireVerifiedFrameCounter, frameCounter: t.frameCounter,
        ...(t.extendedNonce ? { source64: eui64FromAir(t.src) } : {}), ...(t.keyId === 1 ? { keySeq: t.keySeq } : {}),
      };
      const sealed = secureLayer({ header: t.header, aux, payload: t.payload, key: t.key, source64: t.src });
      const n = auxHeaderLength(aux);
      const frame = { header: t.header, auxBytes: sealed.subarray(0, n), body: sealed.subarray(n), key: t.key, source64: t.src };
      expect(unsecureLayer(frame)).toEqual({ ok: true, plaintext: t.payload });
      const all = new Uint8Array([...t.header, ...sealed]);
      const bit = t.flip % (all.length * 8);
      if (Math.floor(bit / 8) === t.header.length && bit % 8 < 3) return; // level bits: restored, not authenticated
      all[bit >> 3] ^= 1 << (bit & 7);
      const h = t.header.length;
      expect(unsecureLayer({ ...frame, header: all.subarray(0, h), auxBytes: all.subarray(h, h + n), body: all.subarray(h + n) }).ok).toBe(false);
    }), { numRuns: 500 });
  });
});
