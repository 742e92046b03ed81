// Fuzzing the dissector: ≥ 100,000 mutated and random frames with a keyring holding the real
// keys. Three sources: (1) on-air mutations of every frame kind and every captured vector (bit
// flips, bytes set to lying lengths, truncations, insertions, deletions, duplications; FCS fixed
// up most of the time so the upper layers are reached); (2) mutated plaintexts sealed with the real
// keys, so the decoders behind NWK and APS decryption see garbage too (mutating ciphertext only
// ever reaches the MIC check); (3) random bytes. Asserted: nothing but DecodeError is ever caught,
// nothing escapes, each error names a layer and an offset inside the frame, and no frame takes
// long (a hang detector, not a benchmark). Seeded: SEHIL_FUZZ_SEED=<n> replays a run.
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { createCcmStar } from '../../harness/crypto/ccm-star.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey } from '../../harness/crypto/hmac-mmo.ts';
import { encodeApsCommand, type ApsCommand } from '../../harness/zigbee/aps.ts';
import { DecodeError, type Layer } from '../../harness/zigbee/codec.ts';
import { createDissector, type Dissector } from '../../harness/zigbee/dissect.ts';
import { crc16Kermit } from '../../harness/zigbee/ieee802154.ts';
import { Keyring } from '../../harness/zigbee/keyring.ts';
import { toJson } from '../../harness/zigbee/summary.ts';
import appVectors from '../../vectors/zigbee-app-frames.json' with { type: 'json' };
import macVectors from '../../vectors/zigbee-frames.json' with { type: 'json' };
import { frameKinds, LABELS } from '../helpers/frame-kinds.ts';
import {
  apsCommandHeader, apsFrame, D1, D2, D2_LINK_KEY, macData, NWK_KEY, NWK_KEY_2, nwkFrame, prng, TC, ZA09,
} from '../helpers/zigbee-traffic.ts';

const SEED = Number(process.env.SEHIL_FUZZ_SEED ?? (Date.now() % 0x7fffffff));
const FRAMES = 100_000;
/** Frames per simulated capture: a fresh dissector (keyring, address map) for each. */
const PER_CAPTURE = 2_000;
const HANG_MS = 50;
/** Frames slower than this are re-timed, so the reported maximum is the dissector's, not the scheduler's. */
const RETIME_MS = 5;
const LAYERS: ReadonlySet<Layer> = new Set(['mac', 'nwk', 'aps', 'zdo', 'zcl']);

function ring(): Keyring {
  const r = new Keyring();
  r.addNetworkKey(NWK_KEY, { seq: 0, label: LABELS.nwk });
  r.addNetworkKey(NWK_KEY_2, { seq: 1, label: 'nwk#1' });
  r.addNetworkKey(hexToBytes(macVectors.keys.network), { seq: 0, label: 'net2-nwk' });
  r.addLinkKey(D2_LINK_KEY, { eui64: D2.eui64, label: LABELS.d2, origin: 'install-code' });
  return r;
}

function withFcs(p: Uint8Array): Uint8Array {
  if (p.length < 2) return p;
  const crc = crc16Kermit(p, 0, p.length - 2);
  p[p.length - 2] = crc & 0xff;
  p[p.length - 1] = crc >>> 8;
  return p;
}

/** Values a length or count field tends to lie with. */
const LIES = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0f, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0xfe, 0xff];

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let p = src.slice();
  const ops = 1 + Math.floor(rnd() * 4);
  const at = (n: number) => Math.floor(rnd() * Math.max(n, 1));
  for (let k = 0; k < ops; k++) {
    switch (Math.floor(rnd() * 7)) {
      case 0: if (p.length) p[at(p.length)] ^= 1 << at(8); break;
      case 1: if (p.length) p[at(p.length)] = at(256); break;
      case 2: if (p.length) { const i = at(p.length); p[i] = rnd() < 0.5 ? LIES[at(LIES.length)] : (p[i] + (rnd() < 0.5 ? 1 : -1)) & 0xff; } break;
      case 3: p = p.slice(0, at(p.length + 1)); break;
      case 4: { const i = at(p.length + 1); const ins = Uint8Array.from({ length: 1 + at(8) }, () => at(256)); p = Uint8Array.from([...p.subarray(0, i), ...ins, ...p.subarray(i)]); break; }
      case 5: { const i = at(p.length); const n = 1 + at(8); p = Uint8Array.from([...p.subarray(0, i), ...p.subarray(i + n)]); break; }
      case 6: { const i = at(p.length); const n = 1 + at(12); p = Uint8Array.from([...p.subarray(0, i + n), ...p.subarray(i, i + n), ...p.subarray(i + n)]); break; }
    }
  }
  return rnd() < 0.7 ? withFcs(p) : p;
}

interface Plain { src: number; dst: number; nwkHeader: Parameters<typeof nwkFrame>[0]; payload: Uint8Array }

describe('dissector fuzz', () => {
  const cases = frameKinds();
  const corpus: Uint8Array[] = [
    ...cases.map((c) => c.psdu),
    ...macVectors.frames.filter((f) => 'psdu' in f && f.psdu).map((f) => hexToBytes((f as { psdu: string }).psdu)),
  ];
  // NWK plaintexts of the corpus (APS frames, NWK commands) and APS command plaintexts, for sealing mutations.
  const full = createDissector({ keyring: ring(), hasFcs: true });
  const plains: Plain[] = [];
  const apsCommands: Uint8Array[] = appVectors.vectors.filter((v) => v.layer === 'aps-command').map((v) => hexToBytes(v.hex));
  for (const c of cases) {
    const f = full.dissect(c.psdu);
    if (f.nwk?.payload && f.mac && typeof f.mac.header.src === 'number' && typeof f.mac.header.dst === 'number') {
      plains.push({ src: f.mac.header.src, dst: f.mac.header.dst, nwkHeader: f.nwk.header, payload: f.nwk.payload.slice() });
    }
    if (f.aps?.command) apsCommands.push(encodeApsCommand(f.aps.command as ApsCommand));
  }
  const nwkCcm = createCcmStar(NWK_KEY);
  const apsKeys = [
    { keyId: 0 as const, ccm: createCcmStar(ZA09) },
    { keyId: 2 as const, ccm: createCcmStar(deriveKeyTransportKey(ZA09)) },
    { keyId: 3 as const, ccm: createCcmStar(deriveKeyLoadKey(D2_LINK_KEY)) },
  ];

  function generate(rnd: () => number, n: number): Uint8Array {
    const pick = <T,>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
    const kind = rnd();
    if (kind < 0.5) return mutate(pick(corpus), rnd);
    if (kind < 0.65) {
      // A mutated NWK plaintext, sealed with the real network key.
      const p = pick(plains);
      const nwk = nwkFrame({ ...p.nwkHeader, security: true }, mutate(p.payload, rnd).subarray(0), { key: nwkCcm, keySeq: 0, frameCounter: n, source64: D1.eui64 });
      return macData(p.src, p.dst, n & 0xff, nwk);
    }
    if (kind < 0.8) {
      // A mutated APS command, sealed at APS with a real link key and at NWK with the network key.
      const k = pick(apsKeys);
      const aps = apsFrame(apsCommandHeader(n & 0xff), mutate(pick(apsCommands), rnd), { key: k.ccm, keyId: k.keyId, frameCounter: n, source64: TC.eui64 });
      const nwk = nwkFrame({ frameType: 0, protocolVersion: 2, discoverRoute: 0, multicast: false, security: true, sourceRoute: false, extendedDestination: false, extendedSource: false, endDeviceInitiator: false, dst16: D1.short, src16: TC.short, radius: 30, seq: n & 0xff }, aps, { key: nwkCcm, keySeq: 0, frameCounter: n, source64: TC.eui64 });
      return rnd() < 0.8 ? macData(TC.short, D1.short, n & 0xff, nwk) : mutate(macData(TC.short, D1.short, n & 0xff, nwk), rnd);
    }
    const r = Uint8Array.from({ length: Math.floor(rnd() * 140) }, () => Math.floor(rnd() * 256));
    return rnd() < 0.5 ? withFcs(r) : r;
  }

  it(`${FRAMES} mutated and random frames: only DecodeErrors, inside the frame, none slow (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    let d: Dissector = createDissector({ keyring: ring(), hasFcs: true });
    let maxMs = 0;
    let errors = 0;
    let opened = 0;
    const byLayer: Record<string, number> = {};
    for (let n = 0; n < FRAMES; n++) {
      if (n % PER_CAPTURE === 0) d = createDissector({ keyring: ring(), hasFcs: rnd() < 0.9 });
      const psdu = generate(rnd, n);
      const where = `seed=${SEED} frame #${n} psdu=${Buffer.from(psdu).toString('hex')}`;
      let f;
      const t0 = performance.now();
      try {
        f = d.dissect(psdu);
      } catch (e) {
        throw new Error(`dissect threw (${where}): ${(e as Error).stack}`);
      }
      let ms = performance.now() - t0;
      if (ms > RETIME_MS) {
        // Re-time before believing it: a GC pause or a busy machine is not the dissector's doing.
        ms = Math.min(ms, ...[0, 1, 2].map(() => { const t = performance.now(); d.dissect(psdu); return performance.now() - t; }));
        expect(ms, `slow frame (${where})`).toBeLessThan(HANG_MS);
      }
      maxMs = Math.max(maxMs, ms);
      for (const e of f.errors) {
        if (!(e instanceof DecodeError)) throw new Error(`not a DecodeError (${where}): ${String(e)}`);
        if (!LAYERS.has(e.layer)) throw new Error(`error without a protocol layer (${where}): ${e.message}`);
        if (!(e.offset >= 0 && e.offset <= psdu.length)) throw new Error(`error offset ${e.offset} outside the ${psdu.length}-byte frame (${where}): ${e.message}`);
      }
      if (f.undecoded && !(f.undecoded.offset >= 0 && f.undecoded.offset <= psdu.length)) throw new Error(`undecoded offset outside the frame (${where})`);
      if (typeof f.summary !== 'string' || f.summary.length === 0) throw new Error(`no summary (${where})`);
      if (n % 97 === 0) JSON.stringify(toJson(f));
      errors += f.errors.length;
      opened += f.security.filter((a) => a.ok).length;
      for (const e of f.errors) byLayer[e.layer] = (byLayer[e.layer] ?? 0) + 1;
    }
    console.log(`dissect fuzz: seed ${SEED}, ${FRAMES} frames, max ${maxMs.toFixed(2)} ms/frame, ${errors} DecodeErrors ${JSON.stringify(byLayer)}, ${opened} layers opened`);
    // The sealed mutations must actually reach the decoders behind decryption.
    expect(opened, `seed=${SEED}`).toBeGreaterThan(FRAMES / 5);
    for (const layer of ['mac', 'nwk', 'aps', 'zdo', 'zcl']) expect(byLayer[layer] ?? 0, `errors in ${layer} (seed=${SEED})`).toBeGreaterThan(0);
  });

  it('a keyring filled to the learning cap still dissects a frame no key opens quickly', () => {
    const d = createDissector({ keyring: ring(), hasFcs: true });
    for (let i = 0; i < 300; i++) {
      const key = new Uint8Array(16);
      new DataView(key.buffer).setUint32(0, i + 1);
      const tk: ApsCommand = { type: 'transportKey', keyType: 0x01, descriptor: { layout: 'network', key, keySeq: i & 0xff, dst64: D1.eui64, src64: TC.eui64 } };
      d.dissect(macData(TC.short, D1.short, i & 0xff, nwkFrame({ frameType: 0, protocolVersion: 2, discoverRoute: 0, multicast: false, security: false, sourceRoute: false, extendedDestination: false, extendedSource: false, endDeviceInitiator: false, dst16: D1.short, src16: TC.short, radius: 30, seq: i & 0xff }, apsFrame(apsCommandHeader(i & 0xff), encodeApsCommand(tk)))));
    }
    expect(d.keyring.all.filter((e) => e.origin === 'learned')).toHaveLength(256);
    const closed = macData(D1.short, TC.short, 1, nwkFrame({ frameType: 0, protocolVersion: 2, discoverRoute: 0, multicast: false, security: false, sourceRoute: false, extendedDestination: false, extendedSource: false, endDeviceInitiator: false, dst16: TC.short, src16: D1.short, radius: 30, seq: 1 }, new Uint8Array(20), { key: new Uint8Array(16).fill(0xee), keySeq: 9, frameCounter: 1, source64: D1.eui64 }));
    // Every network key is tried (the explicit ones + 256 learned); one carries sequence 9, hence "MIC failed".
    const f = d.dissect(closed);
    const networkKeys = d.keyring.all.filter((e) => e.kind === 'network').length;
    expect(networkKeys).toBeGreaterThan(256);
    expect(f.security[0]).toMatchObject({ ok: false, reason: 'mic-failed', tried: networkKeys });
    const ms = Math.min(...[0, 1, 2].map(() => { const t = performance.now(); d.dissect(closed); return performance.now() - t; }));
    expect(ms).toBeLessThan(HANG_MS);
  });
});
