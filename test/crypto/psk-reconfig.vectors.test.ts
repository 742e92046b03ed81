// draft-kang PSK reconfiguration primitives: vectors, round trips, refusals. Runs in node and in
// real Chromium, so no `node:` imports here (the node:crypto cross-check is psk-reconfig.node.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import vectors from '../../vectors/psk-reconfig.json' with { type: 'json' };
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { ccmStarEncrypt } from '../../harness/crypto/ccm-star.ts';
import {
  DEFAULT_FRESHNESS_WINDOW_S, MESSAGE_LENGTH, PskDecodeError, acceptAuthRequest, admitTransaction, checkFreshness,
  computeConfirmation, createHello, createReplayCache, decodeMessage, decodeMessageExact, derivePsk, encodeMessage,
  newRandomNumber, openAuthResponse, openKeyOffer, sealAuthRequest, sealAuthResponse, sealConfirm, sealKeyOffer,
  timestampFromMs, transactionHeader, verifyAuthRequest, verifyConfirm,
  type AuthRequest, type MessageTypeName, type PskMessage, type TransactionHeader,
} from '../../harness/crypto/psk-reconfig.ts';

const h = hexToBytes;

/** The inputs of one flow vector, as bytes. */
function flowInputs(f: (typeof vectors.flows)[number]) {
  const i = f.inputs;
  return {
    header: { idC: i.idC, tid: i.tid, idI: i.idI } satisfies TransactionHeader,
    ts: i.ts, rnI: h(i.rnI), rnC: h(i.rnC), ikI: h(i.ikI), skCs: h(i.skCs),
  };
}

/** Runs the whole exchange, as each role would, and returns every message on the wire. */
function runFlow(f: (typeof vectors.flows)[number]) {
  const x = flowInputs(f);
  const hello = createHello(x.header.idI, (out) => { out.set(x.rnI); return out; });
  const m2 = sealAuthRequest({ ...x.header, ts: x.ts, rnI: hello.rnI, rnC: x.rnC }, x.skCs);
  const m3 = sealAuthResponse(x.header, x.ikI, x.skCs);
  const m4 = sealKeyOffer(x.header, x.rnI, x.rnC, x.ikI);
  const psk = derivePsk(x.rnI, x.rnC, x.ikI);
  const m5 = sealConfirm(x.header, x.rnC, psk);
  return { x, psk, messages: { m1: hello, m2, m3, m4, m5 } as Record<string, PskMessage> };
}

function flip(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] ^= mask;
  return out;
}

describe('published anchors', () => {
  it('derivePsk is AES-128 with IK_i as the key and RN_i xor RN_c as the block (FIPS-197 C.1)', () => {
    const a = vectors.anchors[0];
    const rnI = h('a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5');
    const rnC = h(a.plaintext).map((b, i) => b ^ rnI[i]);
    expect(bytesToHex(derivePsk(rnI, rnC, h(a.key)))).toBe(a.ciphertext);
    // Swapping the roles of the two arguments of E() gives something else: the order is pinned.
    expect(bytesToHex(derivePsk(h(a.key), new Uint8Array(16), h(a.plaintext)))).not.toBe(a.ciphertext);
  });
  it('the CCM parameters (M = 8, 13-byte nonce) are standard CCM (RFC 3610 packet vector #1)', () => {
    const a = vectors.anchors[1];
    expect(bytesToHex(ccmStarEncrypt(h(a.key), h(a.nonce!), h(a.aad!), h(a.plaintext), 8))).toBe(a.sealed);
  });
  it('every vector group says where it comes from', () => {
    expect(vectors.status).toBe('COMPUTED-ONLY (no published vector)');
    for (const f of vectors.flows) expect(f.status).toBe('COMPUTED-ONLY (no published vector)');
    for (const a of vectors.anchors) expect(a.status).toBe('PUBLISHED');
  });
});

describe('flow vectors (computed-only)', () => {
  for (const f of vectors.flows) {
    describe(f.name, () => {
      it('derives PSK_i and encodes M1…M5 byte for byte', () => {
        const { psk, messages } = runFlow(f);
        expect(bytesToHex(psk)).toBe(f.outputs.psk);
        for (const k of ['m1', 'm2', 'm3', 'm4', 'm5'] as const) expect(bytesToHex(encodeMessage(messages[k])), k).toBe(f.outputs[k]);
        const x = flowInputs(f);
        expect(bytesToHex(computeConfirmation(x.header, x.rnC, psk))).toBe(f.outputs.confirmation);
        expect(f.outputs.m5.endsWith(f.outputs.confirmation)).toBe(true);
      });

      it('decodes the wire bytes and every role accepts what it should', () => {
        const x = flowInputs(f);
        const wire = (k: 'm1' | 'm2' | 'm3' | 'm4' | 'm5', t: MessageTypeName) => {
          const r = decodeMessageExact(h(f.outputs[k]), t);
          if (!r.ok) throw r.error;
          return r.value;
        };
        const m1 = wire('m1', 'hello');
        expect(m1).toEqual({ type: 'hello', idI: x.header.idI, rnI: x.rnI });
        // SBS: MIC, freshness, replay.
        const m2 = wire('m2', 'authRequest') as AuthRequest;
        const accepted = acceptAuthRequest(createReplayCache(), m2, x.skCs, x.ts);
        expect(accepted.ok).toBe(true);
        // SBR: IK_i from M3, then PSK_i.
        const r3 = openAuthResponse(wire('m3', 'authResponse') as never, x.skCs);
        if (!r3.ok) throw new Error(r3.reason);
        expect(r3.value.ikI).toEqual(x.ikI);
        const pskAtController = derivePsk(m2.rnI, m2.rnC, r3.value.ikI);
        // SBI: RN_c from M4 under IK_i, then PSK_i.
        const r4 = openKeyOffer(wire('m4', 'keyOffer') as never, x.ikI, { idI: x.header.idI, rnI: x.rnI });
        if (!r4.ok) throw new Error(r4.reason);
        const pskAtNode = derivePsk(x.rnI, r4.value.rnC, x.ikI);
        expect(bytesToHex(pskAtNode)).toBe(f.outputs.psk);
        expect(pskAtController).toEqual(pskAtNode);
        // SBR: the confirmation.
        const r5 = verifyConfirm(wire('m5', 'confirm') as never, pskAtController, m2.rnC);
        expect(r5).toEqual({ ok: true, value: x.header });
      });
    });
  }
});

describe('refusals are values, and nothing is released', () => {
  const f = vectors.flows[0];
  const { x, psk, messages } = runFlow(f);
  const m2 = messages.m2 as AuthRequest;
  const m3 = messages.m3 as Extract<PskMessage, { type: 'authResponse' }>;
  const m4 = messages.m4 as Extract<PskMessage, { type: 'keyOffer' }>;
  const m5 = messages.m5 as Extract<PskMessage, { type: 'confirm' }>;
  const wrongKey = flip(x.ikI, 15);

  it('wrong IK_i: M4 fails verification at the node', () => {
    expect(openKeyOffer(m4, wrongKey, { idI: x.header.idI, rnI: x.rnI })).toEqual({ ok: false, reason: 'auth-failed' });
  });
  it('wrong IK_i at the server: the node refuses M4, and the confirmation made with the wrong PSK is refused', () => {
    const badOffer = sealKeyOffer(x.header, x.rnI, x.rnC, wrongKey);
    expect(openKeyOffer(badOffer, x.ikI, { idI: x.header.idI, rnI: x.rnI })).toEqual({ ok: false, reason: 'auth-failed' });
    const badConfirm = sealConfirm(x.header, x.rnC, derivePsk(x.rnI, x.rnC, wrongKey));
    expect(verifyConfirm(badConfirm, psk, x.rnC)).toEqual({ ok: false, reason: 'auth-failed' });
  });
  it('wrong SK_cs: M2 and M3 fail', () => {
    const sk = flip(x.skCs, 0);
    expect(verifyAuthRequest(m2, sk)).toEqual({ ok: false, reason: 'auth-failed' });
    expect(openAuthResponse(m3, sk)).toEqual({ ok: false, reason: 'auth-failed' });
  });
  it('any flipped bit of a ciphertext or tag is detected (M3, M4, M5)', () => {
    for (let i = 0; i < m3.sealed.length; i++) expect(openAuthResponse({ ...m3, sealed: flip(m3.sealed, i, 0x80) }, x.skCs).ok).toBe(false);
    for (let i = 0; i < m4.sealed.length; i++) {
      expect(openKeyOffer({ ...m4, sealed: flip(m4.sealed, i) }, x.ikI, { idI: x.header.idI, rnI: x.rnI }).ok).toBe(false);
    }
    for (let i = 0; i < m5.sealed.length; i++) expect(verifyConfirm({ ...m5, sealed: flip(m5.sealed, i, 0x10) }, psk, x.rnC).ok).toBe(false);
  });
  it('tampered clear fields are detected: the header is the nonce and M2 is all associated data', () => {
    expect(verifyAuthRequest({ ...m2, ts: m2.ts + 1 }, x.skCs).ok).toBe(false);
    expect(verifyAuthRequest({ ...m2, rnC: flip(m2.rnC, 3) }, x.skCs).ok).toBe(false);
    expect(verifyAuthRequest({ ...m2, rnI: flip(m2.rnI, 15) }, x.skCs).ok).toBe(false);
    expect(verifyAuthRequest({ ...m2, mic: flip(m2.mic, 7) }, x.skCs).ok).toBe(false);
    expect(openAuthResponse({ ...m3, tid: (m3.tid ^ 1) >>> 0 }, x.skCs)).toEqual({ ok: false, reason: 'auth-failed' });
    expect(openAuthResponse({ ...m3, idI: (m3.idI ^ 0x100) >>> 0 }, x.skCs)).toEqual({ ok: false, reason: 'auth-failed' });
    expect(openKeyOffer({ ...m4, idC: (m4.idC ^ 1) >>> 0 }, x.ikI, { idI: x.header.idI, rnI: x.rnI }).ok).toBe(false);
  });
  it('a message of one type cannot be passed off as another (type byte in the nonce)', () => {
    // Same key, same transaction, right length: a box made under M5's nonce (type 0x05) does not open as M4.
    const asOffer = { ...m4, sealed: ccmStarEncrypt(x.ikI, transactionHeader('confirm', x.header), transactionHeader('confirm', x.header), new Uint8Array(32), 8) };
    expect(openKeyOffer(asOffer, x.ikI, { idI: x.header.idI, rnI: x.rnI }).ok).toBe(false);
  });
  it('M3 whose inner ID_i differs from the header is refused, and IK_i is not released', () => {
    const hdr = transactionHeader('authResponse', x.header);
    const pt = new Uint8Array(20);
    pt.set(x.ikI);
    pt.set([0xde, 0xad, 0xbe, 0xef], 16);
    const forged = { ...m3, sealed: ccmStarEncrypt(x.skCs, hdr, hdr, pt, 8) };
    expect(openAuthResponse(forged, x.skCs)).toEqual({ ok: false, reason: 'id-mismatch' });
  });
  it('M4 for another node, or carrying another RN_i, is refused', () => {
    expect(openKeyOffer(m4, x.ikI, { idI: (x.header.idI ^ 1) >>> 0, rnI: x.rnI })).toEqual({ ok: false, reason: 'wrong-node' });
    expect(openKeyOffer(m4, x.ikI, { idI: x.header.idI, rnI: flip(x.rnI, 0) })).toEqual({ ok: false, reason: 'rn-mismatch' });
  });
  it('forged confirmations: random bytes, wrong RN_c, or one from another transaction', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 24, maxLength: 24 }), (sealed) => {
      expect(verifyConfirm({ ...m5, sealed }, psk, x.rnC)).toEqual({ ok: false, reason: 'auth-failed' });
    }), { numRuns: 200 });
    const otherRn = flip(x.rnC, 9);
    expect(verifyConfirm(sealConfirm(x.header, otherRn, psk), psk, x.rnC)).toEqual({ ok: false, reason: 'confirmation-mismatch' });
    const earlier = sealConfirm({ ...x.header, tid: x.header.tid - 1 }, x.rnC, psk);
    expect(verifyConfirm({ ...earlier, tid: x.header.tid }, psk, x.rnC)).toEqual({ ok: false, reason: 'auth-failed' });
  });
});

describe('timestamp freshness and transaction-ID replay', () => {
  it('checkFreshness decision table (vectors, including the 32-bit wrap)', () => {
    for (const c of vectors.freshness.cases) {
      const r = checkFreshness(c.ts, c.nowS, c.windowS);
      expect(r, JSON.stringify(c)).toEqual(c.ok ? { ok: true, ageS: c.ageS } : { ok: false, reason: c.reason, ageS: c.ageS });
    }
    expect(DEFAULT_FRESHNESS_WINDOW_S).toBe(120);
    expect(checkFreshness(1000, 1000 + 121).ok).toBe(false);
    expect(() => checkFreshness(0, 0, -1)).toThrow(RangeError);
    expect(() => checkFreshness(2 ** 32, 0)).toThrow(/"ts"/);
  });
  it('timestampFromMs is whole seconds modulo 2^32', () => {
    expect(timestampFromMs(1_700_000_000_999)).toBe(1_700_000_000);
    expect(timestampFromMs(2 ** 32 * 1000 + 5000)).toBe(5);
  });

  const f = vectors.flows[0];
  const { x, messages } = runFlow(f);
  const m2 = messages.m2 as AuthRequest;

  it('a replayed TID is refused, the same TID from another controller is not', () => {
    const first = admitTransaction(createReplayCache(), { idC: 7, tid: 42, ts: 1000 }, 1000);
    expect(first.ok).toBe(true);
    const again = admitTransaction(first.cache, { idC: 7, tid: 42, ts: 1001 }, 1001);
    expect(again).toMatchObject({ ok: false, reason: 'replay' });
    expect(admitTransaction(first.cache, { idC: 8, tid: 42, ts: 1001 }, 1001).ok).toBe(true);
  });
  it('the cache is immutable and forgets an entry only once its timestamp alone would refuse it', () => {
    const empty = createReplayCache(10);
    const a = admitTransaction(empty, { idC: 1, tid: 1, ts: 100 }, 100);
    expect(empty.seen.size).toBe(0);
    if (!a.ok) throw new Error(a.reason);
    // At 110 the old message is still fresh, so it must still be remembered.
    const b = admitTransaction(a.cache, { idC: 1, tid: 2, ts: 110 }, 110);
    if (!b.ok) throw new Error(b.reason);
    expect(b.cache.seen.has('1:1')).toBe(true);
    expect(admitTransaction(b.cache, { idC: 1, tid: 1, ts: 100 }, 110)).toMatchObject({ ok: false, reason: 'replay' });
    // At 111 it is stale; it may be dropped, and a replay is refused as stale.
    const c = admitTransaction(b.cache, { idC: 1, tid: 3, ts: 111 }, 111);
    if (!c.ok) throw new Error(c.reason);
    expect(c.cache.seen.has('1:1')).toBe(false);
    expect(admitTransaction(c.cache, { idC: 1, tid: 1, ts: 100 }, 111)).toMatchObject({ ok: false, reason: 'stale' });
  });
  it('the server refuses a replayed M2, a stale M2 and one from the future', () => {
    const first = acceptAuthRequest(createReplayCache(), m2, x.skCs, x.ts + 5);
    expect(first.ok).toBe(true);
    expect(acceptAuthRequest(first.cache, m2, x.skCs, x.ts + 6)).toMatchObject({ ok: false, reason: 'replay' });
    expect(acceptAuthRequest(createReplayCache(), m2, x.skCs, x.ts + 121)).toMatchObject({ ok: false, reason: 'stale' });
    expect(acceptAuthRequest(createReplayCache(), m2, x.skCs, x.ts - 121)).toMatchObject({ ok: false, reason: 'future' });
  });
  it('a forged M2 neither passes nor burns the TID of the real one', () => {
    const cache = createReplayCache();
    const forged = acceptAuthRequest(cache, { ...m2, mic: new Uint8Array(8) }, x.skCs, x.ts);
    expect(forged).toMatchObject({ ok: false, reason: 'auth-failed' });
    expect(forged.cache.seen.size).toBe(0);
    expect(acceptAuthRequest(forged.cache, m2, x.skCs, x.ts).ok).toBe(true);
  });
});

describe('encodings', () => {
  it('malformed input names the message, the field and the offset (vectors)', () => {
    for (const c of vectors.decodeInvalid.cases) {
      const r = decodeMessageExact(h(c.hex), c.expected as MessageTypeName | undefined);
      expect(r.ok, c.name).toBe(false);
      if (r.ok) continue;
      expect(r.error, c.name).toBeInstanceOf(PskDecodeError);
      expect(r.error.field, c.name).toBe(c.field);
      expect(r.error.offset, c.name).toBe(c.offset);
      expect(r.error.messageType, c.name).toBe(c.messageType);
      expect(r.error.message).toContain(`"${c.field}"`);
    }
  });
  it('a truncated message reports what it decoded before the bad field', () => {
    const r = decodeMessage(h(vectors.flows[0].outputs.m2).subarray(0, 40));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.partial).toMatchObject({ type: 'authRequest', idC: vectors.flows[0].inputs.idC, ts: vectors.flows[0].inputs.ts });
    expect(r.partial.rnC).toBeUndefined();
  });
  it('decodes at an offset and returns the offset after the message', () => {
    const m1 = h(vectors.flows[0].outputs.m1);
    const buf = new Uint8Array(3 + m1.length + 2);
    buf.set(m1, 3);
    const r = decodeMessage(buf, 3);
    expect(r).toMatchObject({ ok: true, offset: 3 + m1.length });
  });
  it('message lengths of the profile', () => {
    expect(MESSAGE_LENGTH).toEqual({ hello: 21, authRequest: 57, authResponse: 41, keyOffer: 53, confirm: 37 });
  });
  it('the encoder refuses bad fields by name', () => {
    const ok = { type: 'hello', idI: 1, rnI: new Uint8Array(16) } as const;
    expect(() => encodeMessage({ ...ok, idI: 2 ** 32 })).toThrow(/"idI" expected an integer/);
    expect(() => encodeMessage({ ...ok, idI: 1.5 })).toThrow(RangeError);
    expect(() => encodeMessage({ ...ok, rnI: new Uint8Array(15) })).toThrow('"rnI" expected Uint8Array of length 16, got length=15');
    expect(() => encodeMessage({ ...ok, type: 'nope' } as never)).toThrow(/"type"/);
    expect(() => derivePsk(new Uint8Array(16), new Uint8Array(16), new Uint8Array(32))).toThrow(/"ikI"/);
  });

  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const b = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const header = { idC: u32, tid: u32, idI: u32 };
  const anyMessage: fc.Arbitrary<PskMessage> = fc.oneof(
    fc.record({ type: fc.constant('hello' as const), idI: u32, rnI: b(16) }),
    fc.record({ type: fc.constant('authRequest' as const), ...header, ts: u32, rnI: b(16), rnC: b(16), mic: b(8) }),
    fc.record({ type: fc.constant('authResponse' as const), ...header, sealed: b(28) }),
    fc.record({ type: fc.constant('keyOffer' as const), ...header, sealed: b(40) }),
    fc.record({ type: fc.constant('confirm' as const), ...header, sealed: b(24) }),
  );
  it('encode → decode round trip (property)', () => {
    fc.assert(fc.property(anyMessage, (m) => {
      const bytes = encodeMessage(m);
      expect(bytes.length).toBe(MESSAGE_LENGTH[m.type]);
      expect(decodeMessageExact(bytes)).toEqual({ ok: true, value: m, offset: bytes.length });
    }), { numRuns: 300 });
  });
  it('every strict prefix of a message fails with a typed error (property)', () => {
    fc.assert(fc.property(anyMessage, fc.nat(), (m, cut) => {
      const bytes = encodeMessage(m);
      const r = decodeMessage(bytes.subarray(0, cut % bytes.length));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.offset).toBeLessThanOrEqual(cut % bytes.length);
    }), { numRuns: 300 });
  });
});

describe('round trips of the protection (property)', () => {
  const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const hdr = fc.record({ idC: u32, tid: u32, idI: u32 });
  it('seal → encode → decode → open gives back what went in, for every protected message', () => {
    fc.assert(fc.property(hdr, u32, key, key, key, key, (t, ts, rnI, rnC, ikI, skCs) => {
      const through = <T extends PskMessage>(m: T): T => {
        const r = decodeMessageExact(encodeMessage(m), m.type);
        if (!r.ok) throw r.error;
        return r.value as T;
      };
      expect(verifyAuthRequest(through(sealAuthRequest({ ...t, ts, rnI, rnC }, skCs)), skCs).ok).toBe(true);
      expect(openAuthResponse(through(sealAuthResponse(t, ikI, skCs)), skCs)).toEqual({ ok: true, value: { ikI } });
      expect(openKeyOffer(through(sealKeyOffer(t, rnI, rnC, ikI)), ikI, { idI: t.idI, rnI })).toEqual({ ok: true, value: { rnC } });
      const psk = derivePsk(rnI, rnC, ikI);
      expect(verifyConfirm(through(sealConfirm(t, rnC, psk)), psk, rnC)).toEqual({ ok: true, value: t });
    }), { numRuns: 100 });
  });
});

describe('randomness', () => {
  it('is injectable, and defaults to crypto.getRandomValues', () => {
    let calls = 0;
    const fixed = (out: Uint8Array) => { calls++; return out.fill(0xab); };
    expect(createHello(9, fixed)).toEqual({ type: 'hello', idI: 9, rnI: new Uint8Array(16).fill(0xab) });
    expect(calls).toBe(1);
    const a = newRandomNumber();
    const c = newRandomNumber();
    expect(a.length).toBe(16);
    expect(a).not.toEqual(c);
    expect(() => newRandomNumber(() => new Uint8Array(8))).toThrow(/"random\(\) result"/);
  });
});
