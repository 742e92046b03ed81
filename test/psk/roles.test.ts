// The transport-free PSK role state machines (harness/psk/roles.ts): the vector flow end to end,
// and each refusal with its CoAP code. No node: imports.
import { describe, expect, it } from 'vitest';
import vectors from '../../vectors/psk-reconfig.json' with { type: 'json' };
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { encodeMessage, sealAuthRequest, type RandomSource } from '../../harness/crypto/psk-reconfig.ts';
import { PskController, PskNode, PskServer, pskProfile, type PskReply } from '../../harness/psk/roles.ts';

function roles(f = vectors.flows[0], nowOffsetS = 0) {
  const i = f.inputs;
  const queue = [hexToBytes(i.rnI), hexToBytes(i.rnC)];
  const random: RandomSource = (out) => { out.set(queue.shift()!); return out; };
  const ik = hexToBytes(i.ikI);
  const sk = hexToBytes(i.skCs);
  const nowS = () => (i.ts + nowOffsetS) >>> 0;
  return {
    i, sk,
    node: new PskNode({ idI: i.idI, ikI: ik, random }),
    ctl: new PskController({ idC: i.idC, skCs: sk, nowS: () => i.ts, firstTid: i.tid, random }),
    srv: new PskServer({ nodes: new Map([[i.idI, ik]]), controllers: new Map([[i.idC, sk]]), nowS }),
  };
}
const ok = (r: PskReply) => { if (!r.ok) throw new Error(r.detail); return r.payload; };

describe('PSK roles', () => {
  for (const f of vectors.flows) {
    it(`run the vector flow "${f.name.slice(0, 50)}" byte for byte`, () => {
      const { node, ctl, srv, i } = roles(f);
      const m1 = node.hello();
      expect(bytesToHex(m1)).toBe(f.outputs.m1);
      const m2 = ctl.handleHello(m1);
      if (!m2.ok) throw new Error(m2.detail);
      expect(bytesToHex(m2.authRequest)).toBe(f.outputs.m2);
      const m3 = ok(srv.handleAuthRequest(m2.authRequest));
      expect(bytesToHex(m3)).toBe(f.outputs.m3);
      const m4 = ok(ctl.handleAuthResponse(m2.tid, { code: '2.04', payload: m3 }));
      expect(bytesToHex(m4)).toBe(f.outputs.m4);
      const m5 = node.handleKeyOffer(m4);
      if (!m5.ok) throw new Error(m5.detail);
      expect(bytesToHex(m5.confirm)).toBe(f.outputs.m5);
      expect(ok(ctl.handleConfirm(m5.confirm))).toEqual(new Uint8Array(0));
      const out = node.handleConfirmResult('2.04');
      expect(out.installed && bytesToHex(out.psk)).toBe(f.outputs.psk);
      expect(bytesToHex(ctl.installed.get(i.idI)!)).toBe(f.outputs.psk);
      expect(bytesToHex(srv.installed.get(i.idI)!)).toBe(f.outputs.psk);
    });
  }

  it('refuse with the documented codes and install nothing', () => {
    const { node, ctl, srv, i, sk } = roles();
    const m1 = node.hello();
    const m2 = ctl.handleHello(m1);
    if (!m2.ok) throw new Error(m2.detail);
    expect(ctl.handleHello(m1)).toMatchObject({ ok: false, code: '4.01', reason: 'replay' });
    expect(ctl.handleHello(new Uint8Array(3))).toMatchObject({ ok: false, code: '4.00', reason: 'malformed' });
    const tampered = m2.authRequest.slice();
    tampered[20] ^= 1;
    expect(srv.handleAuthRequest(tampered)).toMatchObject({ ok: false, code: '4.01', reason: 'auth-failed' });
    const stale = encodeMessage(sealAuthRequest({ idC: i.idC, tid: 9, idI: i.idI, ts: i.ts - 121, rnI: new Uint8Array(16), rnC: new Uint8Array(16) }, sk));
    expect(srv.handleAuthRequest(stale)).toMatchObject({ ok: false, code: '4.01', reason: 'stale' });
    expect(srv.installed.size).toBe(0);
    const m3 = ok(srv.handleAuthRequest(m2.authRequest));
    expect(srv.handleAuthRequest(m2.authRequest)).toMatchObject({ ok: false, code: '4.01', reason: 'replay' });
    expect(ctl.handleAuthResponse(m2.tid + 1, { code: '2.04', payload: m3 })).toMatchObject({ ok: false, code: '4.04' });
    const m4 = ok(ctl.handleAuthResponse(m2.tid, { code: '2.04', payload: m3 }));
    const m5 = node.handleKeyOffer(m4);
    if (!m5.ok) throw new Error(m5.detail);
    const forged = m5.confirm.slice();
    forged[20] ^= 1;
    expect(ctl.handleConfirm(forged)).toMatchObject({ ok: false, code: '4.01', reason: 'auth-failed' });
    expect(ctl.installed.size).toBe(0);
    expect(node.handleConfirmResult('4.01')).toMatchObject({ installed: false, step: 'confirm' });
    expect(node.installed).toBeUndefined();
  });

  it('server refusal and silence become 5.02 / 5.04 at the controller', () => {
    const { node, ctl } = roles();
    const m2 = ctl.handleHello(node.hello());
    if (!m2.ok) throw new Error(m2.detail);
    expect(ctl.handleAuthResponse(m2.tid, { code: '4.01', payload: new TextEncoder().encode('stale: …') })).toMatchObject({ code: '5.02', reason: 'server-refused' });
    expect(ctl.openTransactions()).toEqual([]);
    expect(ctl.handleAuthResponse(m2.tid, { unreachable: 'x' })).toMatchObject({ code: '4.04' });
  });

  it('names the known profiles when asked for an unknown one', () => {
    expect(() => pskProfile('sbs', 'nope')).toThrow('unknown sbs profile "nope"; known: compliant, ignores-mic, ignores-timestamp, accepts-replay');
  });
});
