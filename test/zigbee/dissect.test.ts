// The dissector on real captured frames (vectors/zigbee-frames.json, vectors/zigbee-app-frames.json)
// and on built sequences: which key opened each layer and where it came from, keys learned from
// Transport Key, the address map, partial results, the summary line and the JSON form.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey } from '../../harness/crypto/hmac-mmo.ts';
import { encodeApsCommand, type ApsCommand } from '../../harness/zigbee/aps.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';
import { createDissector, type DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { Keyring } from '../../harness/zigbee/keyring.ts';
import { toJson } from '../../harness/zigbee/summary.ts';
import { encodeZdp } from '../../harness/zigbee/zdo.ts';
import appVectors from '../../vectors/zigbee-app-frames.json' with { type: 'json' };
import macVectors from '../../vectors/zigbee-frames.json' with { type: 'json' };
import { frameKinds, LABELS } from '../helpers/frame-kinds.ts';
import {
  apsCommandHeader, apsDataHeader, apsFrame, concat, D1, D2, D2_LINK_KEY, macData, NWK_KEY, nwkFrame, nwkHeader, TC, ZA09,
} from '../helpers/zigbee-traffic.ts';

const NET2_NWK = hexToBytes(macVectors.keys.network);

function net2Ring(): Keyring {
  const ring = new Keyring();
  ring.addNetworkKey(NET2_NWK, { seq: 0, label: 'net2-nwk' });
  return ring;
}

/** Wraps an APS frame in an unsecured NWK frame and a MAC data frame (0x0000 → 0xa18f). */
function carry(aps: Uint8Array, seq = 1): Uint8Array {
  return macData(TC.short, D1.short, seq, nwkFrame(nwkHeader({ src16: TC.short, dst16: D1.short, seq }), aps));
}

function plainCommand(f: DissectedFrame): string {
  const c = f.aps?.tunnel?.frame?.command ?? f.aps?.command;
  if (!c) throw new Error(`no APS command in: ${f.summary}`);
  return bytesToHex(encodeApsCommand(c as ApsCommand));
}

type MacVector = (typeof macVectors.frames)[number] & {
  keys?: { network?: string; link?: string };
  expect: { nwkPlaintext?: string; aps?: { aux: { keyId: number }; plaintext: string } };
};

describe('real captured frames: every secured vector opens with the right key', () => {
  const secured = (macVectors.frames as MacVector[]).filter((v) => v.psdu && v.keys);

  it.each(secured.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const d = createDissector({ keyring: net2Ring(), hasFcs: true });
    const f = d.dissect(hexToBytes(v.psdu!));
    expect(f.errors).toEqual([]);
    expect(f.mac?.fcsOk).toBe(true);
    const want: { layer: string; keyId: number; keyLabel: string; keyOrigin: string }[] = [];
    if (v.expect.nwk && (v.expect.nwk as { header: { security?: boolean } }).header.security !== false && v.keys!.network) {
      want.push({ layer: 'nwk', keyId: 1, keyLabel: 'net2-nwk', keyOrigin: 'explicit' });
    }
    if (v.expect.aps) want.push({ layer: 'aps', keyId: v.expect.aps.aux.keyId, keyLabel: 'ZigBeeAlliance09', keyOrigin: 'well-known' });
    expect(f.security).toMatchObject(want.map((w) => ({ ...w, ok: true })));
    if (v.expect.nwkPlaintext) expect(bytesToHex(f.nwk!.payload!)).toBe(v.expect.nwkPlaintext);
    if (v.expect.aps) expect(plainCommand(f)).toBe(v.expect.aps.plaintext);
    if (v.id === 'nwk-device-annce') expect(f.zdo?.command).toMatchObject({ type: 'Device_annce', nwkAddress: 0xa18f, ieeeAddress: 'a4c1386d9b280fdf' });
    if (v.id === 'nwk-leave-broadcast') expect(f.nwk?.command).toMatchObject({ kind: 'leave' });
  });

  const apsOpen = appVectors.vectors.filter((v) => 'open' in v && v.open);
  it.each(apsOpen.map((v) => [v.name, v] as const))('%s (APS vector carried in a NWK frame)', (_name, v) => {
    const d = createDissector({ keyring: new Keyring(), hasFcs: true });
    const f = d.dissect(carry(hexToBytes(v.hex)));
    expect(f.errors).toEqual([]);
    const open = v.open as { linkKey: string; plaintext: string; inner?: boolean };
    expect(f.security).toHaveLength(1);
    expect(f.security[0]).toMatchObject({ layer: 'aps', keyLabel: 'ZigBeeAlliance09', keyOrigin: 'well-known', ok: true, tried: 1 });
    expect(plainCommand(f)).toBe(open.plaintext);
  });

  it('the APS Transport Key of the capture teaches nothing new when the key is already known, and says so', () => {
    const d = createDissector({ keyring: net2Ring(), hasFcs: true });
    const v = (macVectors.frames as MacVector[]).find((x) => x.id === 'aps-transport-key-nwk')!;
    const f = d.dissect(hexToBytes(v.psdu!));
    expect(f.learned).toEqual([{ keyType: 1, kind: 'network', label: 'net2-nwk', origin: 'explicit', added: false, note: 'already-known' }]);
    expect(f.summary).toBe('APS Transport Key (network key #0) 0x0000 → 0xa18f  [aps: key-transport(ZigBeeAlliance09)] [carries: net2-nwk]');
  });
});

describe('keys learned from Transport Key', () => {
  it('TK(network key) under the key-transport key of an install-code key, then a Device_annce under the learned key', () => {
    const ring = new Keyring({ wellKnown: false });
    ring.addLinkKey(D2_LINK_KEY, { eui64: D2.eui64, origin: 'install-code', label: 'ic@d2' });
    const d = createDissector({ keyring: ring, hasFcs: true });
    const tk: ApsCommand = { type: 'transportKey', keyType: 0x01, descriptor: { layout: 'network', key: NWK_KEY, keySeq: 3, dst64: D2.eui64, src64: TC.eui64 } };
    const aps = apsFrame(apsCommandHeader(1), encodeApsCommand(tk), { key: deriveKeyTransportKey(D2_LINK_KEY), keyId: 2, frameCounter: 77, source64: TC.eui64 });
    const f1 = d.dissect(macData(TC.short, D2.short, 1, nwkFrame(nwkHeader({ src16: TC.short, dst16: D2.short, seq: 1 }), aps)));
    expect(f1.security).toEqual([{ layer: 'aps', keyId: 2, keyLabel: 'ic@d2', keyOrigin: 'install-code', ok: true, tried: 1 }]);
    expect(f1.learned).toEqual([{ keyType: 1, kind: 'network', label: 'nwk#3', origin: 'learned', added: true }]);
    expect(f1.summary).toBe('APS Transport Key (network key #3) 0x0000 → 0x3c21  [aps: key-transport(ic@d2)] [learned: nwk#3]');
    const learned = ring.all.find((e) => e.label === 'nwk#3')!;
    expect(learned).toMatchObject({ kind: 'network', origin: 'learned', seq: 3, learnedInFrame: 1 });
    expect(bytesToHex(learned.key)).toBe(bytesToHex(NWK_KEY));

    const annce = encodeZdp({ clusterId: 0x0013, tsn: 9, command: { type: 'Device_annce', nwkAddress: D2.short, ieeeAddress: D2.eui64, capability: 0x80 } });
    const zdo = apsFrame(apsDataHeader({ cluster: 0x0013, profile: 0, counter: 2, dstEndpoint: 0, srcEndpoint: 0, deliveryMode: 2 }), annce);
    const nwk = (fc: number) => nwkFrame(nwkHeader({ src16: D2.short, dst16: 0xfffd, seq: fc }), zdo, { key: NWK_KEY, keySeq: 3, frameCounter: fc, source64: D2.eui64 });
    const f2 = d.dissect(macData(D2.short, 0xffff, 2, nwk(1)));
    expect(f2.errors).toEqual([]);
    expect(f2.security).toEqual([{ layer: 'nwk', keyId: 1, keyLabel: 'nwk#3', keyOrigin: 'learned', keyFrame: 1, ok: true, tried: 1 }]);
    expect(f2.zdo?.command).toEqual({ type: 'Device_annce', nwkAddress: D2.short, ieeeAddress: D2.eui64, capability: 0x80 });
    expect(f2.summary).toBe('ZDO Device_annce 0x3c21 00:12:4b:00:01:02:03:04 0x3c21 → 0xfffd  [nwk: nwk#3 learned #1]');
    expect(d.keyUsage.get(learned)).toBe(1);
  });

  it('a TC link key and an application link key are bound to their devices; the next frames open with them', () => {
    const cases = frameKinds();
    const ring = new Keyring();
    ring.addNetworkKey(NWK_KEY, { seq: 0, label: LABELS.nwk });
    const d = createDissector({ keyring: ring, hasFcs: true });
    const by = new Map(cases.map((c) => [c.name, d.dissect(c.psdu, { index: c.index })]));
    expect(by.get('aps-tk-tclk')!.learned).toEqual([{ keyType: 4, kind: 'link', label: `tclk@${D1.eui64}`, origin: 'learned', added: true }]);
    expect(ring.all.find((e) => e.label === `tclk@${D1.eui64}`)).toMatchObject({ eui64: D1.eui64, learnedInFrame: by.get('aps-tk-tclk')!.index });
    expect(by.get('aps-tk-app-link')!.learned).toEqual([{ keyType: 3, kind: 'link', label: `app-link@${D2.eui64}`, origin: 'learned', added: true }]);
    expect(by.get('aps-confirm-key')!.security[1]).toMatchObject({ keyLabel: `tclk@${D1.eui64}`, keyOrigin: 'learned', ok: true });
  });

  it('stops adding keys at maxLearnedKeys and reports the rest', () => {
    const ring = new Keyring({ wellKnown: false });
    const d = createDissector({ keyring: ring, hasFcs: true, maxLearnedKeys: 2 });
    const labels = [1, 2, 3].map((n) => {
      const tk: ApsCommand = { type: 'transportKey', keyType: 0x01, descriptor: { layout: 'network', key: new Uint8Array(16).fill(n), keySeq: n, dst64: D1.eui64, src64: TC.eui64 } };
      return d.dissect(carry(apsFrame(apsCommandHeader(n), encodeApsCommand(tk)), n)).learned![0];
    });
    expect(labels.map((l) => [l.label, l.added, l.note])).toEqual([['nwk#1', true, undefined], ['nwk#2', true, undefined], ['nwk#3', false, 'keyring-full']]);
    expect(ring.all).toHaveLength(2);
  });
});

describe('key trial and attribution', () => {
  const seal = (key: Uint8Array, fc: number, keySeq = 0) =>
    macData(D1.short, TC.short, fc, nwkFrame(nwkHeader({ src16: D1.short, dst16: TC.short, seq: fc }), apsFrame(apsCommandHeader(fc), Uint8Array.of(0x08, 0x04)), { key, keySeq, frameCounter: fc, source64: D1.eui64 }));

  it('remembers the winner: the second frame from the same key sequence opens on the first try', () => {
    const ring = new Keyring({ wellKnown: false });
    for (let i = 1; i <= 4; i++) ring.addNetworkKey(new Uint8Array(16).fill(i), { label: `k${i}` });
    ring.addNetworkKey(NWK_KEY, { label: 'right' });
    const d = createDissector({ keyring: ring, hasFcs: true });
    expect(d.dissect(seal(NWK_KEY, 1)).security[0]).toMatchObject({ keyLabel: 'right', tried: 5 });
    expect(d.dissect(seal(NWK_KEY, 2)).security[0]).toMatchObject({ keyLabel: 'right', tried: 1 });
  });

  it('plaintexts of earlier frames stay intact while thousands more are opened (failed trials included)', () => {
    // The dissector carves plaintexts from shared slabs: a later frame, or a key that failed on
    // it, must never write into bytes an earlier frame still shows.
    const ring = new Keyring({ wellKnown: false });
    const keyA = new Uint8Array(16).fill(0xa1);
    ring.addNetworkKey(keyA, { label: 'a' });
    ring.addNetworkKey(NWK_KEY, { label: 'b' });
    const d = createDissector({ keyring: ring, hasFcs: true });
    const sent: Uint8Array[] = [];
    const seen: DissectedFrame[] = [];
    for (let i = 1; i <= 3000; i++) {
      // Alternating keys under one sequence number: the remembered winner fails on every other frame.
      const length = i === 1500 ? 1100 : 1 + ((i * 37) % 90); // one payload too long for a slab
      const payload = Uint8Array.from({ length }, (_, j) => (i * 7 + j) & 0xff);
      sent.push(payload);
      const nwk = nwkFrame(nwkHeader({ src16: D1.short, dst16: TC.short, seq: i & 0xff }), payload, { key: i % 2 ? keyA : NWK_KEY, keySeq: 0, frameCounter: i, source64: D1.eui64 });
      seen.push(d.dissect(macData(D1.short, TC.short, i & 0xff, nwk)));
    }
    seen.forEach((f, i) => {
      expect(f.security[0]).toMatchObject({ ok: true, keyLabel: i % 2 ? 'b' : 'a' });
      expect(f.nwk?.payload).toEqual(sent[i]);
    });
  });

  it('says why a layer stayed closed: no key, no key opened it, MIC failed', () => {
    const none = createDissector({ keyring: new Keyring({ wellKnown: false }), hasFcs: true }).dissect(seal(NWK_KEY, 1));
    expect(none.security).toEqual([{ layer: 'nwk', keyId: 1, keyLabel: null, ok: false, reason: 'no-key', tried: 0 }]);
    expect(none.summary).toBe('NWK Data (encrypted) 0xa18f → 0x0000  [nwk: no key]');

    const ring = new Keyring({ wellKnown: false });
    ring.addNetworkKey(NWK_KEY, { seq: 0, label: 'nwk#0' });
    const d = createDissector({ keyring: ring, hasFcs: true });
    const wrong = d.dissect(seal(new Uint8Array(16).fill(9), 1, 5));
    expect(wrong.security[0]).toMatchObject({ ok: false, reason: 'no-key-opened', tried: 1 });
    expect(wrong.nwk?.encrypted).toBeDefined();
    const tampered = seal(NWK_KEY, 2);
    tampered[tampered.length - 5] ^= 1; // the NWK MIC (the FCS is not checked for this)
    const bad = d.dissect(tampered);
    expect(bad.security[0]).toMatchObject({ ok: false, reason: 'mic-failed' });
    expect(bad.summary).toBe('NWK Data (encrypted) 0xa18f → 0x0000  [nwk: MIC failed] [bad FCS]');
  });

  it('APS without extended nonce: closed until the sender EUI-64 is known, then opened from the address map', () => {
    const d = createDissector({ keyring: new Keyring(), hasFcs: true });
    const rk = (fc: number) => carry(apsFrame(apsCommandHeader(fc), Uint8Array.of(0x08, 0x04), { key: ZA09, keyId: 0, frameCounter: fc, source64: TC.eui64, extendedNonce: false }), fc);
    expect(d.dissect(rk(1)).security[0]).toMatchObject({ ok: false, reason: 'no-source-address' });
    // The TC announces itself: 0x0000 ↔ its EUI-64.
    const annce = encodeZdp({ clusterId: 0x0013, tsn: 1, command: { type: 'Device_annce', nwkAddress: TC.short, ieeeAddress: TC.eui64, capability: 0x8f } });
    d.dissect(carry(apsFrame(apsDataHeader({ cluster: 0x0013, profile: 0, counter: 9, dstEndpoint: 0, srcEndpoint: 0 }), annce), 9));
    expect(d.addresses.eui64Of(TC.short)).toBe(TC.eui64);
    const f = d.dissect(rk(2));
    expect(f.security[0]).toMatchObject({ ok: true, keyLabel: 'ZigBeeAlliance09' });
    expect(f.aps?.command).toEqual({ type: 'requestKey', keyType: 4 });
  });

  it('key-load and key-transport keys come from the same link key entry', () => {
    const d = createDissector({ keyring: new Keyring(), hasFcs: true });
    const tk = encodeApsCommand({ type: 'transportKey', keyType: 0x04, descriptor: { layout: 'trustCenter', key: ZA09, dst64: D1.eui64, src64: TC.eui64 } });
    const f = d.dissect(carry(apsFrame(apsCommandHeader(1), tk, { key: deriveKeyLoadKey(ZA09), keyId: 3, frameCounter: 1, source64: TC.eui64 })));
    expect(f.security[0]).toMatchObject({ keyId: 3, keyLabel: 'ZigBeeAlliance09', ok: true });
    expect(f.summary).toContain('[aps: key-load(ZigBeeAlliance09)]');
  });
});

describe('partial results', () => {
  const ring = () => {
    const r = new Keyring();
    r.addNetworkKey(NWK_KEY, { seq: 0, label: 'nwk#0' });
    return r;
  };

  it('a NWK command cut short keeps the MAC and NWK headers and names the offset', () => {
    // Rejoin Response without its status byte, unsecured.
    const nwk = nwkFrame(nwkHeader({ frameType: 1, src16: TC.short, dst16: D1.short, seq: 1 }), Uint8Array.of(0x07, 0x8f, 0xa1));
    const psdu = macData(TC.short, D1.short, 1, nwk);
    const f = createDissector({ keyring: ring(), hasFcs: true }).dissect(psdu);
    expect(f.mac?.header.seq).toBe(1);
    expect(f.nwk?.header.src16).toBe(TC.short);
    expect(f.errors).toHaveLength(1);
    const e = f.errors[0];
    expect(e).toBeInstanceOf(DecodeError);
    expect([e.layer, e.offset]).toEqual(['nwk', 9 + 8 + 3]);
    expect(e.reason).toMatch(/truncated rejoin status/);
    expect(f.undecoded).toMatchObject({ layer: 'nwk', offset: 17 });
    expect(bytesToHex(f.undecoded!.bytes)).toBe('078fa1');
    expect(f.summary).toMatch(/^NWK Command 0x0000 → 0xa18f  \[nwk @20: truncated rejoin status/);
  });

  it('errors inside a decrypted payload carry PSDU offsets (plaintext stands where the ciphertext was)', () => {
    // A secured APS Update Device cut after the EUI-64: NWK + APS open, the command does not decode.
    const aps = apsFrame(apsCommandHeader(1), concat(Uint8Array.of(0x06), new Uint8Array(8)), { key: ZA09, keyId: 0, frameCounter: 1, source64: D1.eui64 });
    const psdu = macData(D1.short, TC.short, 1, nwkFrame(nwkHeader({ src16: D1.short, dst16: TC.short, seq: 1 }), aps, { key: NWK_KEY, keySeq: 0, frameCounter: 1, source64: D1.eui64 }));
    const f = createDissector({ keyring: ring(), hasFcs: true }).dissect(psdu);
    expect(f.security.map((a) => a.ok)).toEqual([true, true]);
    expect(f.aps?.commandId).toBe(0x06);
    const e = f.errors[0];
    // MAC 9 + NWK header 8 + NWK aux 14 + APS header 2 + APS aux 13 + command id 1 + EUI-64 8.
    expect([e.layer, e.offset]).toEqual(['aps', 9 + 8 + 14 + 2 + 13 + 9]);
    expect(e.offset).toBeLessThan(psdu.length);
  });

  it('a frame too short for its MAC header is one error and raw bytes, and nothing throws', () => {
    const f = createDissector({ keyring: ring(), hasFcs: true }).dissect(Uint8Array.of(0x41, 0x88, 0x01, 0x00, 0x00));
    expect(f.mac).toBeUndefined();
    expect(f.errors[0]).toMatchObject({ layer: 'mac' });
    expect(f.summary).toMatch(/^Malformed 802\.15\.4 frame  \[mac @\d+: truncated/);
    expect(createDissector({ keyring: ring(), hasFcs: true }).dissect(new Uint8Array(0)).errors[0].reason).toMatch(/FCS/);
  });
});

describe('summary and JSON', () => {
  const cases = frameKinds();
  const ring = new Keyring();
  ring.addNetworkKey(NWK_KEY, { seq: 0, label: LABELS.nwk });
  ring.addLinkKey(D2_LINK_KEY, { eui64: D2.eui64, label: LABELS.d2, origin: 'install-code' });
  const d = createDissector({ keyring: ring, hasFcs: true });
  const by = new Map(cases.map((c) => [c.name, d.dissect(c.psdu, { index: c.index, timestampUs: 1_700_000_000_000_000n + BigInt(c.index), channel: 15 })]));

  it.each([
    ['aps-tk-tclk', 'APS Transport Key (TC link key) 0x0000 → 0xa18f  [nwk: nwk#0] [aps: key-load(ZigBeeAlliance09)] [learned: tclk@a4c1386d9b280fdf]'],
    ['nwk-rejoin-request', 'NWK Rejoin Request 0xa18f → 0x0000  [nwk: nwk#0]'],
    ['nwk-rejoin-request-tc', 'NWK Rejoin Request 0xa18f → 0x0000'],
    ['mac-beacon-request', 'MAC Beacon Request → 0xffff'],
    ['mac-ack', 'MAC Ack seq 3'],
    ['ke1-initiate-req', 'ZCL Key Establishment: Initiate Key Establishment Request (suite 1) 0xa18f → 0x0000  [nwk: nwk#0]'],
    ['ke2-terminate', 'ZCL Key Establishment: Terminate Key Establishment UNKNOWN_ISSUER, wait 30 s 0x0000 → 0xa18f  [nwk: nwk#0]'],
    ['zcl-keep-alive-read-rsp', 'ZCL Keep-Alive: Read Attributes Response base 10 min, jitter 300 s 0x0000 → 0xa18f  [nwk: nwk#0] [aps: tclk@a4c1386d9b280fdf learned #15]'],
    ['aps-tunnel', 'APS Tunnel → 00:12:4b:00:01:02:03:04: APS Transport Key (network key #1) 0x0000 → 0x6887  [nwk: nwk#0] [aps: key-transport(ic@00124b0001020304)] [learned: nwk#1]'],
    ['aps-mic-tampered', 'APS Command (encrypted) 0xa18f → 0x0000  [nwk: nwk#0] [aps: MIC failed]'],
    ['nwk-unknown-key', 'NWK Data (encrypted) 0xa18f → 0x0000  [nwk: no key opened it]'],
  ])('%s: %s', (name, line) => {
    expect(by.get(name)!.summary).toBe(line);
  });

  it('the cluster decoders run: Key Establishment payloads and Keep-Alive parameters', () => {
    expect(by.get('ke2-ephemeral-rsp')!.zcl?.keyEstablishment).toMatchObject({ type: 'ephemeralData' });
    expect((by.get('ke2-ephemeral-rsp')!.zcl!.keyEstablishment as { point: Uint8Array }).point).toHaveLength(37);
    expect(by.get('ke1-initiate-req-annex-c5')!.zcl?.keyEstablishment).toMatchObject({ type: 'initiateKeyEstablishment', suite: 1 });
    expect(by.get('zcl-keep-alive-read-rsp')!.zcl?.keepAlive).toEqual({ base: 10, jitter: 300, problems: [] });
  });

  it('toJson: bytes as hex, bigints as strings, errors as {layer, offset, reason}; stringifies', () => {
    const j = toJson(by.get('aps-tk-tclk')!);
    const text = JSON.stringify(j);
    const back = JSON.parse(text);
    expect(back.timestampUs).toBe(String(1_700_000_000_000_000n + BigInt(cases.find((c) => c.name === 'aps-tk-tclk')!.index)));
    expect(back.aps.command.descriptor.key).toBe('c0ffee00112233445566778899aabbcc');
    expect(back.aps.aux.source64).toBe(TC.eui64);
    expect(back.security[1]).toEqual({ layer: 'aps', keyId: 3, keyLabel: 'ZigBeeAlliance09', keyOrigin: 'well-known', ok: true, tried: 1 });
    expect(Object.keys(back).slice(0, 5)).toEqual(['index', 'timestampUs', 'channel', 'length', 'summary']);
    const broken = createDissector({ keyring: new Keyring(), hasFcs: false }).dissect(Uint8Array.of(0x01, 0x88));
    expect(JSON.parse(JSON.stringify(toJson(broken))).errors).toEqual([{ layer: 'mac', offset: 2, reason: 'truncated sequence number: need 1 byte, have 0' }]);
  });
});
