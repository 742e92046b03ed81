// The checks of the PSK-* cases (suites/catalog.ts), over a running PskSystem whose roles are
// in-process or external (rig file `psk:`). Kept apart from the vitest file so that the kit's own
// test (test/psk/known-bad.test.ts) runs the same checks against known-bad role profiles and
// proves each case fails there. Verdicts come from the CoAP exchange (response codes, the bytes
// on the wire, opened with the keys the kit provisioned), and, for roles the kit runs, from what
// each role installed.
import { expect } from 'vitest';
import vectors from '../../vectors/psk-reconfig.json' with { type: 'json' };
import { bytesToHex, equalBytes, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  MessageType, PSK_SIZES, createHello, decodeMessageExact, derivePsk, encodeMessage, newRandomNumber, openKeyOffer,
  sealAuthRequest, sealConfirm, timestampFromMs, type KeyOffer, type PskMessage, type RandomSource,
} from '../../harness/crypto/psk-reconfig.ts';
import {
  PSK_PATHS, coapPost, formatUdpAddress, openPskSystem, type CoapResult, type PskSettings, type PskSystem,
} from '../../harness/psk/coap-binding.ts';

export interface PskEnv {
  sys: PskSystem;
  settings: PskSettings | undefined;
  step: <T>(name: string, body: () => Promise<T> | T) => Promise<T>;
  /** Extra systems a case starts (rogue controllers) are registered here so they are closed. */
  track(sys: PskSystem): PskSystem;
}

const text = (r: CoapResult) => new TextDecoder().decode(r.payload);
const nowS = () => timestampFromMs(Date.now());

async function post(env: PskEnv, to: 'sbs' | 'sbr', path: string, payload: Uint8Array, what: string): Promise<CoapResult> {
  return coapPost(env.sys[to].address, path, payload, { role: 'kit', step: what, deadlineMs: env.sys.deadlines.helloMs, log: undefined });
}

/** Expects a refusal: the code, and a diagnostic that starts with the reason (PROFILE.md P10). */
function expectRefused(r: CoapResult, code: string, reason: RegExp | undefined, what: string): void {
  expect(r.code, `${what}: expected ${code}, got ${r.code} ${r.code.startsWith('2') ? bytesToHex(r.payload) : text(r)}`).toBe(code);
  if (reason) expect(text(r), `${what}: diagnostic payload`).toMatch(reason);
}

/** Nothing installed (or nothing changed) at the in-process roles; external roles cannot be looked into. */
async function expectNothingInstalled(env: PskEnv, before: { sbs?: string; sbr?: string; sbi?: string }, what = 'after the refusal'): Promise<void> {
  const { sys } = env;
  const idI = sys.prov.idI;
  await env.step(`no PSK_i installed ${what}`, () => {
    const hex = (k: Uint8Array | undefined) => (k ? bytesToHex(k) : undefined);
    if (sys.sbs.local) expect(hex(sys.sbs.local.installed.get(idI)), `SBS installed a PSK_i ${what}`).toBe(before.sbs);
    if (sys.sbr.local) expect(hex(sys.sbr.local.installed.get(idI)), `SBR installed a PSK_i ${what}`).toBe(before.sbr);
    if (sys.sbi.local && !sys.sbi.external) expect(hex(sys.sbi.local.installed), `SBI installed a PSK_i ${what}`).toBe(before.sbi);
  });
}

function installedNow(sys: PskSystem): { sbs?: string; sbr?: string; sbi?: string } {
  const idI = sys.prov.idI;
  const hex = (k: Uint8Array | undefined) => (k ? bytesToHex(k) : undefined);
  return { sbs: hex(sys.sbs.local?.installed.get(idI)), sbr: hex(sys.sbr.local?.installed.get(idI)), sbi: hex(sys.sbi.external ? undefined : sys.sbi.local?.installed) };
}

/** Every PSK message in a transcript, in order (the hex payloads the binding logged). */
function messagesOf(lines: readonly string[]): { line: string; hex: string; message: PskMessage }[] {
  const out: { line: string; hex: string; message: PskMessage }[] = [];
  for (const line of lines) {
    const m = / (\d+) B ([0-9a-f]+)$/.exec(line);
    if (!m) continue;
    const d = decodeMessageExact(hexToBytes(m[2]));
    if (d.ok) out.push({ line, hex: m[2], message: d.value });
  }
  return out;
}

/** The kit's own M2 for the rig's server, sealed with the provisioned SK_cs. */
function kitAuthRequest(sys: PskSystem, o: { tid: number; ts: number; rnI?: Uint8Array; rnC?: Uint8Array }): Uint8Array {
  return encodeMessage(sealAuthRequest({
    idC: sys.prov.idC, tid: o.tid, idI: sys.prov.idI, ts: o.ts >>> 0, rnI: o.rnI ?? newRandomNumber(), rnC: o.rnC ?? newRandomNumber(),
  }, sys.prov.skCs));
}

/** A TID no controller of this kit has used: 32 random bits. */
function freshTid(): number {
  return new DataView(newRandomNumber().buffer).getUint32(0);
}

/** The kit as the node: M1 to the rig's controller, M4 opened with the provisioned IK_i. */
async function kitKeyOffer(env: PskEnv): Promise<{ m4: KeyOffer; rnI: Uint8Array; rnC: Uint8Array; psk: Uint8Array }> {
  const { sys } = env;
  const hello = createHello(sys.prov.idI);
  const r = await env.step('the kit, as the node, sends M1 and gets M4', () => post(env, 'sbr', PSK_PATHS.hello, encodeMessage(hello), 'M1'));
  expect(r.code, `controller answered M1 with ${r.code} ${text(r)}`).toBe('2.04');
  const d = decodeMessageExact(r.payload, 'keyOffer');
  expect(d.ok, d.ok ? '' : `M4 does not decode: ${d.error.message}`).toBe(true);
  const m4 = (d as { value: KeyOffer }).value;
  const opened = openKeyOffer(m4, sys.prov.ikI, { idI: sys.prov.idI, rnI: hello.rnI });
  expect(opened.ok, opened.ok ? '' : `M4 does not open under the provisioned IK_i: ${opened.reason}`).toBe(true);
  const rnC = (opened as { value: { rnC: Uint8Array } }).value.rnC;
  return { m4, rnI: hello.rnI, rnC, psk: derivePsk(hello.rnI, rnC, sys.prov.ikI) };
}

function flipBit(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] ^= mask;
  return out;
}

/** A rogue pair SBS+SBR on loopback (in-process), for checks of the node under test. */
async function rogue(env: PskEnv, settings: PskSettings): Promise<PskSystem> {
  return env.track(await openPskSystem({ ...settings, sbi: undefined, sbs: { profile: settings.sbs?.profile }, sbr: { profile: settings.sbr?.profile } }));
}

function provSettings(sys: PskSystem): PskSettings {
  return { ik: bytesToHex(sys.prov.ikI), skCs: bytesToHex(sys.prov.skCs), idI: sys.prov.idI, idC: sys.prov.idC, windowS: sys.prov.windowS };
}

export const PSK_CHECKS: Record<string, (env: PskEnv) => Promise<void>> = {
  'PSK-01': async (env) => {
    const { sys } = env;
    const run = await env.step('the node runs the exchange (M1…M5) with the controller and the server', () => sys.runNode());
    expect(run.report.helloCode, `controller answered M1 with ${run.report.helloCode}: ${run.report.reason ?? ''}`).toBe('2.04');
    expect(run.report.confirmCode, `controller answered M5 with ${run.report.confirmCode}`).toBe('2.04');
    expect(run.installed, `node did not install PSK_i: ${run.report.step}: ${run.report.reason}`).toBe(true);
    await env.step('PSK_i = AES-128(IK_i, RN_i ⊕ RN_c) from the wire, and every role that can be looked into holds it', () => {
      const msgs = messagesOf(sys.transcript());
      const hello = msgs.filter((m) => m.message.type === 'hello').at(-1)?.message;
      const offer = msgs.filter((m) => m.message.type === 'keyOffer').at(-1)?.message;
      const idI = sys.prov.idI;
      const held = [
        ['node', run.psk], ['controller', sys.sbr.local?.installed.get(idI)], ['server', sys.sbs.local?.installed.get(idI)],
      ].filter((x): x is [string, Uint8Array] => x[1] !== undefined);
      if (hello?.type === 'hello' && offer?.type === 'keyOffer') {
        const o = openKeyOffer(offer, sys.prov.ikI, { idI, rnI: hello.rnI });
        expect(o.ok, 'the M4 on the wire does not open under IK_i with the RN_i of M1').toBe(true);
        const psk = derivePsk(hello.rnI, (o as { value: { rnC: Uint8Array } }).value.rnC, sys.prov.ikI);
        held.push(['kit (from M1, M4 and IK_i)', psk]);
      }
      // With every role external the only evidence is the controller's 2.04 to M5: it verified
      // E(RN_c, PSK_i) under its own PSK_i (PROFILE.md P8).
      const distinct = new Set(held.map(([, k]) => bytesToHex(k)));
      expect(distinct.size, `roles hold different PSK_i: ${held.map(([w, k]) => `${w} ${bytesToHex(k)}`).join(', ')}`).toBeLessThanOrEqual(1);
      if (held.length) expect(held.map(([, k]) => k.length)).toEqual(held.map(() => 16));
    });
  },

  'PSK-02': async (env) => {
    const f = vectors.flows[0];
    const i = f.inputs;
    const queue = [hexToBytes(i.rnI), hexToBytes(i.rnC)];
    const random: RandomSource = (out) => { out.set(queue.shift() ?? new Uint8Array(16)); return out; };
    const sys = env.track(await openPskSystem({ ik: i.ikI, skCs: i.skCs, idI: i.idI, idC: i.idC }, { nowS: () => i.ts, firstTid: i.tid, random }));
    const run = await env.step(`in-process roles with the inputs of vector "${f.name.slice(0, 40)}…" over CoAP`, () => sys.runNode());
    expect(run.installed, `${run.report.step}: ${run.report.reason}`).toBe(true);
    await env.step('M1…M5 on the wire are the vector bytes, PSK_i is the vector PSK_i at all three roles', () => {
      const seen = new Map<string, string>();
      for (const m of messagesOf(sys.transcript())) seen.set(`m${MessageType[m.message.type]}`, m.hex);
      for (const k of ['m1', 'm2', 'm3', 'm4', 'm5'] as const) expect(seen.get(k), `${k} on the wire`).toBe(f.outputs[k]);
      expect(bytesToHex(run.psk!)).toBe(f.outputs.psk);
      expect(bytesToHex(sys.sbr.local!.installed.get(i.idI)!)).toBe(f.outputs.psk);
      expect(bytesToHex(sys.sbs.local!.installed.get(i.idI)!)).toBe(f.outputs.psk);
    });
  },

  'PSK-03': async (env) => {
    const { sys } = env;
    const wrong = sys.prov.ikI.map((b) => b ^ 0xa5);
    const r = await env.step(`a controller whose server holds another IK_i (${bytesToHex(wrong)}) serves the node`, () =>
      rogue(env, { ...provSettings(sys), ik: bytesToHex(wrong) }));
    const before = installedNow(sys);
    const run = await env.step(`the node under test runs against it (${formatUdpAddress(r.sbr.address)})`, () => sys.runNode(r.sbr.address));
    await env.step('the node refuses M4 (auth-failed) and sends no M5', () => {
      expect(run.report.helloCode, 'the rogue controller should have answered M1').toBe('2.04');
      expect(run.report.sentConfirm, `the node sent M5 (answered ${run.report.confirmCode}) for a key offer sealed under another IK_i`).toBe(false);
      expect(run.report.installed).toBe(false);
      expect(run.report.reason ?? '', 'refusal reason').toMatch(/auth-failed/);
      expect(r.transcript().filter((l) => l.includes(PSK_PATHS.confirm)), 'M5 reached the controller').toEqual([]);
      expect(r.sbr.local!.installed.size, 'the controller installed a PSK_i').toBe(0);
    });
    await expectNothingInstalled(env, before);
  },

  'PSK-04': async (env) => {
    const { sys } = env;
    const hello = encodeMessage(createHello(sys.prov.idI));
    const first = await env.step('the kit sends M1 to the controller', () => post(env, 'sbr', PSK_PATHS.hello, hello, 'M1'));
    expect(first.code, `first M1: ${first.code} ${text(first)}`).toBe('2.04');
    const before = installedNow(sys);
    const admitted = sys.sbs.local?.admitted.length;
    const again = await env.step('the same M1 again, as a new CoAP request (new Message ID)', () => post(env, 'sbr', PSK_PATHS.hello, hello, 'replayed M1'));
    expectRefused(again, '4.01', /^replay/, 'replayed M1');
    if (admitted !== undefined) {
      await env.step('the server saw no M2 for the replay', () => expect(sys.sbs.local!.admitted.length, 'an M2 was admitted for the replayed M1').toBe(admitted));
    }
    await expectNothingInstalled(env, before, 'after the replayed M1');
  },

  'PSK-05': async (env) => {
    const { sys } = env;
    const w = sys.prov.windowS;
    const start = installedNow(sys);
    const tid = freshTid();
    const rnI = newRandomNumber();
    const rnC = newRandomNumber();
    const stale = await env.step(`M2 with TS ${w + 1} s old (window ±${w} s)`, () =>
      post(env, 'sbs', PSK_PATHS.auth, kitAuthRequest(sys, { tid, ts: nowS() - w - 1, rnI, rnC }), 'stale M2'));
    expectRefused(stale, '4.01', /^stale/, 'M2 with a stale TS');
    const future = await env.step(`M2 with TS ${w + 2} s ahead`, () =>
      post(env, 'sbs', PSK_PATHS.auth, kitAuthRequest(sys, { tid, ts: nowS() + w + 2, rnI, rnC }), 'future M2'));
    expectRefused(future, '4.01', /^future/, 'M2 with a TS from the future');
    await expectNothingInstalled(env, start, 'after the stale and future M2');
    const fresh = await env.step('control: the same M2 with the current TS (and the same TID, which the refusals did not burn)', () =>
      post(env, 'sbs', PSK_PATHS.auth, kitAuthRequest(sys, { tid, ts: nowS(), rnI, rnC }), 'fresh M2'));
    expect(fresh.code, `fresh M2: ${fresh.code} ${text(fresh)}`).toBe('2.04');
  },

  'PSK-06': async (env) => {
    const { sys } = env;
    const tid = freshTid();
    const first = await env.step(`M2 with TID ${tid}`, () => post(env, 'sbs', PSK_PATHS.auth, kitAuthRequest(sys, { tid, ts: nowS() }), 'M2'));
    expect(first.code, `first M2: ${first.code} ${text(first)}`).toBe('2.04');
    const before = installedNow(sys);
    const again = await env.step(`another M2 (new RN_i, RN_c, current TS) reusing TID ${tid}`, () =>
      post(env, 'sbs', PSK_PATHS.auth, kitAuthRequest(sys, { tid, ts: nowS() }), 'M2 with a reused TID'));
    expectRefused(again, '4.01', /^replay/, 'M2 reusing a TID');
    await expectNothingInstalled(env, before, 'by the M2 with the reused TID (the first PSK_i stays)');
  },

  'PSK-07': async (env) => {
    const { sys } = env;
    const { m4, rnC, psk } = await kitKeyOffer(env);
    const before = installedNow(sys);
    const h = { idC: m4.idC, tid: m4.tid, idI: m4.idI };
    const forged: [string, Uint8Array, RegExp][] = [
      ['random bytes as the confirmation', encodeMessage({ type: 'confirm', ...h, sealed: new Uint8Array([...newRandomNumber(), ...newRandomNumber().slice(0, 8)]) }), /^auth-failed/],
      ['E(RN_c) under IK_i instead of PSK_i', encodeMessage(sealConfirm(h, rnC, sys.prov.ikI)), /^auth-failed/],
      ['E(another RN_c, PSK_i)', encodeMessage(sealConfirm(h, flipBit(rnC, 0), psk)), /^confirmation-mismatch/],
    ];
    for (const [what, bytes, reason] of forged) {
      const r = await env.step(`M5 with ${what}`, () => post(env, 'sbr', PSK_PATHS.confirm, bytes, `forged M5 (${what})`));
      expectRefused(r, '4.01', reason, `forged M5 (${what})`);
    }
    await expectNothingInstalled(env, before, 'after the forged confirmations');
  },

  'PSK-08': async (env) => {
    const { sys } = env;
    const start = installedNow(sys);
    const m2 = kitAuthRequest(sys, { tid: freshTid(), ts: nowS() });
    const micAt = m2.length - PSK_SIZES.mic;
    for (const [what, at] of [['a bit of RN_c', micAt - 1], ['a bit of the MIC', micAt + 2], ['a bit of TS', PSK_SIZES.header]] as const) {
      const r = await env.step(`M2 with ${what} flipped`, () => post(env, 'sbs', PSK_PATHS.auth, flipBit(m2, at), `tampered M2 (${what})`));
      expectRefused(r, '4.01', /^auth-failed/, `M2 with ${what} flipped`);
    }
    await expectNothingInstalled(env, start, 'after the tampered M2s');

    const r = await env.step('a controller that flips one ciphertext bit of M4 serves the node', () =>
      rogue(env, { ...provSettings(sys), sbr: { profile: 'flips-key-offer-bit' } }));
    const run = await env.step('the node under test runs against it', () => sys.runNode(r.sbr.address));
    await env.step('the node refuses the tampered M4 (auth-failed) and sends no M5', () => {
      expect(run.report.sentConfirm, `the node sent M5 (answered ${run.report.confirmCode}) after a tampered key offer`).toBe(false);
      expect(run.report.reason ?? '').toMatch(/auth-failed/);
      expect(r.sbr.local!.installed.size).toBe(0);
    });

    const { m4, rnC, psk } = await kitKeyOffer(env);
    const before = installedNow(sys);
    const m5 = encodeMessage(sealConfirm(m4, rnC, psk));
    const bad = await env.step('M5 with one ciphertext bit flipped', () => post(env, 'sbr', PSK_PATHS.confirm, flipBit(m5, PSK_SIZES.header + 5), 'tampered M5'));
    expectRefused(bad, '4.01', /^auth-failed/, 'tampered M5');
    await expectNothingInstalled(env, before, 'after the tampered M5');
    const good = await env.step('control: the untampered M5 of the same transaction', () => post(env, 'sbr', PSK_PATHS.confirm, m5, 'M5'));
    expect(good.code, `untampered M5: ${good.code} ${text(good)}`).toBe('2.04');
    if (sys.sbr.local) expect(equalBytes(sys.sbr.local.installed.get(sys.prov.idI)!, psk)).toBe(true);
  },

  'PSK-09': async (env) => {
    const { sys } = env;
    const start = installedNow(sys);
    const cases: [('sbs' | 'sbr'), string, string, Uint8Array, RegExp][] = [
      ['sbs', PSK_PATHS.auth, 'an empty payload', new Uint8Array(0), /"type": truncated/],
      ['sbs', PSK_PATHS.auth, 'an unknown type byte', Uint8Array.of(0x7f, 1, 2, 3), /unknown message type 0x7f/],
      ['sbs', PSK_PATHS.auth, 'M2 cut inside RN_c', kitAuthRequest(sys, { tid: 1, ts: nowS() }).slice(0, 40), /"rnC": truncated/],
      ['sbs', PSK_PATHS.auth, 'an M1 where M2 belongs', encodeMessage(createHello(sys.prov.idI)), /"type": expected authRequest/],
      ['sbr', PSK_PATHS.hello, 'M1 with a leftover byte', Uint8Array.of(...encodeMessage(createHello(sys.prov.idI)), 0), /"end": 1 leftover/],
      ['sbr', PSK_PATHS.hello, 'M1 cut inside ID_i', Uint8Array.of(1, 0x5e), /"idI": truncated/],
      ['sbr', PSK_PATHS.confirm, 'M5 header only', encodeMessage(sealConfirm({ idC: sys.prov.idC, tid: 1, idI: sys.prov.idI }, new Uint8Array(16), new Uint8Array(16))).slice(0, 13), /"sealed": truncated/],
      ['sbr', PSK_PATHS.confirm, '1 KiB of 0xff', new Uint8Array(1024).fill(0xff), /unknown message type 0xff/],
    ];
    for (const [role, path, what, bytes, diag] of cases) {
      const r = await env.step(`${role.toUpperCase()} ${path} gets ${what}`, () => post(env, role, path, bytes, `malformed (${what})`));
      expectRefused(r, '4.00', diag, `${role} ${path} with ${what}`);
    }
    if (sys.sbi.external && sys.sbi.address) {
      const r = await env.step('the external node\'s /psk/start gets a payload that is not an address', () =>
        coapPost(sys.sbi.address!, PSK_PATHS.start, new TextEncoder().encode('not an address'), { role: 'kit', step: 'malformed start', deadlineMs: sys.deadlines.helloMs }));
      expect(r.code).toBe('4.00');
    }
    await expectNothingInstalled(env, start, 'by malformed messages');
    const run = await env.step('every role still serves: a full exchange afterwards', () => sys.runNode());
    expect(run.installed, `${run.report.step}: ${run.report.reason}`).toBe(true);
  },
};
