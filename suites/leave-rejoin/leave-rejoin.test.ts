// Leave and come back, judged from the air: the Ember SE FAQ's scenario
// (shared/sources/ember-se-rejoin-after-leave-faq.txt) — an SE device joins with its install-code
// key, Key Establishment replaces that key, the device leaves and joins afresh with its
// install-code key, and a TC that kept the CBKE key sends the network key under it — as a matrix
// of leave flag × what the TC does with the key entry × how the device comes back × initial key.
// Cases and spec references: suites/catalog.ts (LR-*).
//
// Key Establishment over the simulated nodes is not wired into the suites yet: the "previous
// session" key is installed at both ends the way a KE application does (SimTrustCenter.setLinkKey,
// SimJoiner.setTcLinkKey), as test/stack/leave-rejoin.test.ts does with the stack TC.
import * as allure from 'allure-js-commons';
import { expect } from 'vitest';
import { bytesToHex, equalBytes, hexToBytes } from '../../harness/crypto/bytes.ts';
import { SimJoiner, SimTrustCenter } from '../../devices/sim/driver.ts';
import { conformance, type ConformanceContext } from '../../harness/run/fixture.ts';
import {
  and, apsCommandOf, apsSecurityOf, isDeviceAnnce, isLeaveDemand, isNwkLeave, isRejoinRequest, isRejoinResponse, isTransportKey,
} from '../../harness/run/match.ts';
import { renderMatrixSvg, renderMatrixText, type Matrix, type Tone } from '../../harness/run/svg.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { judgeReturn, type HeldKey, type ReturnOutcome, type ReturnVerdict } from './judge.ts';

/** Stands for the CBKE-derived TC link key of the previous session. */
const SESSION_KEY = hexToBytes('c0ffee00c0ffee00c0ffee00c0ffee00');
/** Its keyring label: the diagnosis says "network key sent under the cbke key of the previous session". */
const SESSION_LABEL = 'cbke';
const ZBA09 = hexToBytes('5a6967426565416c6c69616e63653039');

async function formAndOpen(ctx: ConformanceContext, installCode: string | undefined): Promise<void> {
  const { rig, air } = ctx;
  await rig.tc.form({ channel: rig.channel, panId: rig.panId });
  if (installCode) await rig.tc.addInstallCode(rig.dutIdentity.eui64, installCode);
  await air.refreshKeys(); // the network key: NWK-secured frames open as they are heard
  await rig.tc.permitJoin(180);
}

/** The CBKE stand-in: the previous session's TC link key at both ends, and in the kit's keyring under its own name. */
async function previousSessionKey(ctx: ConformanceContext): Promise<void> {
  const tc = ctx.rig.tc as SimTrustCenter;
  const dut = ctx.rig.dut as SimJoiner;
  const eui = ctx.rig.dutIdentity.eui64;
  if (!ctx.air.keyring.all.some((k) => k.kind === 'link' && equalBytes(k.key, SESSION_KEY))) {
    ctx.air.keyring.addLinkKey(SESSION_KEY, { label: SESSION_LABEL, eui64: eui });
  }
  tc.setLinkKey(eui, SESSION_KEY, 'cbke');
  dut.setTcLinkKey(SESSION_KEY, 'cbke');
}

const transportKeyTo = (dut: string) => and(isTransportKey(), (f: DissectedFrame) => {
  const c = apsCommandOf(f);
  return c?.type === 'transportKey' && c.descriptor.layout === 'network' && c.descriptor.dst64 === dut;
});

conformance('LR-01', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const dut = rig.dutIdentity.eui64;
  const icKey = ctx.dutInstallCodeKey!;
  await step('TC forms the network, is given the DUT\'s install code and permits joining', () => formAndOpen(ctx, rig.dutIdentity.installCode));
  if (rig.sim) await step('the DUT is a Smart Energy device: Key Establishment replaces its install-code key', () => (rig.dut as SimJoiner).setTclkMode('cbke'));
  const first = await step('first session: the DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  expect(first.joined, `first join failed: ${first.reason}`).toBe(true);
  if (rig.sim) await step('Key Establishment (stand-in): a new TC link key at both ends', () => previousSessionKey(ctx));
  const leftAt = air.mark();
  await step('the DUT leaves (no rejoin)', () => within('dut', 'leave', 10_000, rig.dut.leave()));
  await step('its leave announcement is on the air', () => air.expect('the DUT\'s leave announcement', isNwkLeave({ request: false, device: dut }), { withinMs: 5_000, from: leftAt }));
  await step('the DUT is reset to factory-new (emberSetInitialSecurityState: back to its install-code key)', () => within('dut', 'reset', 30_000, rig.dut.reset()));
  await step('TC permits joining again', () => rig.tc.permitJoin(180));
  const from = air.mark();
  const again = await step('second session: the DUT joins afresh', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, timeoutMs: 30_000 })));
  const tk = await step('the Transport Key of the network key is on the air', () => air.expect('APS Transport Key (network key) to the DUT', transportKeyTo(dut), { withinMs: 10_000, from }));
  await step('it is secured with the key-transport key of the install-code key, not a key of the previous session', async () => {
    await air.refreshKeys();
    const v = judgeReturn(air.frames.slice(from), {
      dut, held: [{ name: 'install-code', key: icKey }], previous: { name: SESSION_LABEL, key: SESSION_KEY }, keyring: air.keyring.all,
    });
    const sec = apsSecurityOf(tk);
    const opened = sec?.ok ? air.keyring.all.find((k) => k.label === sec.keyLabel)?.key : undefined;
    expect(sec?.keyId, `frame ${tk.index}: the network key must travel under a key-transport key (APS key id 2)`).toBe(2);
    expect(opened && bytesToHex(opened), `frame ${tk.index}: ${v.diagnosis ?? `opened with "${sec?.keyLabel}"`}`).toBe(bytesToHex(icKey));
  });
  expect(again.joined, `the DUT did not come back: ${again.reason}`).toBe(true);
});

conformance('LR-02', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const tc = rig.tc as SimTrustCenter;
  const dut = rig.dutIdentity.eui64;
  await step('TC forms the network, is given the DUT\'s install code and permits joining', () => formAndOpen(ctx, rig.dutIdentity.installCode));
  const r1 = await step('the DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  expect(r1.joined, `join failed: ${r1.reason}`).toBe(true);

  // With the rejoin flag first: the device comes back by itself, so the second request needs no
  // fresh join (which would also test how the TC picks the join key — LR-01's business).
  let from = air.mark();
  await step('the TC asks the DUT to leave and rejoin: Mgmt_Leave_req, rejoin flag set', () => within('tc', 'Mgmt_Leave_req sent', 10_000, tc.stack.requestLeave(dut, { rejoin: true, method: 'zdo' })));
  const demand = await air.expect('the TC\'s Mgmt_Leave_req for the DUT', isLeaveDemand(dut), { withinMs: 5_000, from });
  const [, req] = await step('the DUT announces its leave with the rejoin flag and comes back by a secured rejoin', () =>
    air.expectSequence([
      { awaited: 'the DUT\'s leave announcement (rejoin 1)', match: isNwkLeave({ request: false, rejoin: true, device: dut }) },
      { awaited: 'a NWK-secured Rejoin Request from the DUT', match: isRejoinRequest({ device: dut, secured: true }) },
      { awaited: 'the Rejoin Response', match: isRejoinResponse({ device: dut }) },
      { awaited: 'the DUT\'s Device_annce', match: isDeviceAnnce(dut) },
    ], { withinMs: 20_000, from: demand.index }));
  await step('no Transport Key of the network key after a secured rejoin', () =>
    air.expectNone('a Transport Key (network key) to the DUT after its secured rejoin', transportKeyTo(dut), { forMs: 2_000, from: req.index }));

  from = air.mark();
  await step('the TC asks the DUT to leave: NWK Leave request, rejoin flag clear', () => within('tc', 'leave request sent', 10_000, tc.stack.requestLeave(dut, { rejoin: false, method: 'nwk' })));
  const demand2 = await air.expect('the TC\'s NWK Leave request to the DUT', isLeaveDemand(dut), { withinMs: 5_000, from });
  await step('the DUT announces its leave, rejoin flag clear', () =>
    air.expect('the DUT\'s leave announcement (rejoin 0) after the request', and(isNwkLeave({ request: false, rejoin: false, device: dut }), (f) => f.index > demand2.index), { withinMs: 5_000, from }));
  await step('and does not come back by itself', () =>
    air.expectNone('a Rejoin Request from the DUT after a leave without the rejoin flag', isRejoinRequest({ device: dut }), { forMs: 5_000, from: demand2.index }));
});

// LR-03 / LR-04 — the matrix ---------------------------------------------------------------------

type LeaveFlag = 'no rejoin flag' | 'rejoin flag';
type EntryAction = 'TC keeps entry' | 'entry deleted' | 'rig TC replaces entry';
type Return = 'secured rejoin' | 'TC rejoin' | 're-association';

const LEAVES: readonly LeaveFlag[] = ['no rejoin flag', 'rejoin flag'];
const ENTRIES: readonly EntryAction[] = ['TC keeps entry', 'entry deleted', 'rig TC replaces entry'];
const RETURNS: readonly Return[] = ['secured rejoin', 'TC rejoin', 're-association'];

/**
 * What each cell must come to. After a leave without the rejoin flag a device forgets the network
 * and does not rejoin; a secured rejoin sends no key; a TC rejoin gets the network key under the
 * session key the TC holds (none once the entry is deleted); a fresh association gets it under
 * the initial key — unless the TC kept the previous session's key (the FAQ's 0xAF trap).
 */
function expectedOutcome(leave: LeaveFlag, entry: EntryAction, how: Return): ReturnOutcome {
  if (how === 're-association') return entry === 'TC keeps entry' ? 'key-mismatch' : 'joined';
  if (leave === 'no rejoin flag') return 'no-rejoin';
  if (how === 'TC rejoin' && entry === 'entry deleted') return 'refused';
  return 'joined';
}

const TONE: Record<ReturnOutcome, Tone> = { joined: 'good', 'no-rejoin': 'neutral', 'key-mismatch': 'bad', refused: 'warn', stuck: 'bad' };

interface CellResult { leave: LeaveFlag; entry: EntryAction; how: Return; expected: ReturnOutcome; verdict: ReturnVerdict }

async function runCell(ctx: ConformanceContext, initial: 'install-code' | 'global', leave: LeaveFlag, entry: EntryAction, how: Return): Promise<ReturnVerdict> {
  const { rig, air, within } = ctx;
  const tc = rig.tc as SimTrustCenter;
  const dutRole = rig.dut as SimJoiner;
  const dut = rig.dutIdentity.eui64;
  const code = initial === 'install-code' ? rig.dutIdentity.installCode! : null;
  // "keeps": a TC that reuses the key it holds for a fresh join (the FAQ's ESP); otherwise the rig's TC.
  tc.reconfigure({ profile: entry === 'TC keeps entry' ? 'keeps-key-after-leave' : undefined });
  dutRole.provisionForTest({ installCode: code });
  dutRole.setTclkMode('cbke');
  await formAndOpen(ctx, code ?? undefined);
  const first = await within('dut', 'first join', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId }));
  if (!first.joined) throw new Error(`setup: the first join failed (${first.reason})`);
  await previousSessionKey(ctx);
  await within('dut', 'leave', 10_000, rig.dut.leave({ rejoin: leave === 'rejoin flag' }));
  await rig.clock.sleep(200);
  if (entry === 'entry deleted') await rig.tc.deleteLinkKey(dut);
  const from = air.mark();
  if (how === 're-association') {
    await within('dut', 'reset', 30_000, rig.dut.reset());
    await within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, timeoutMs: 20_000 }));
  } else {
    await within('dut', 'rejoin result', 30_000, rig.dut.rejoin({ channel: rig.channel, secured: how === 'secured rejoin', timeoutMs: 10_000 }));
  }
  await rig.clock.sleep(2_000);
  await air.refreshKeys();
  const initialKey: HeldKey = code ? { name: 'install-code', key: ctx.dutInstallCodeKey! } : { name: 'global (ZigBeeAlliance09)', key: ZBA09 };
  // What the device holds when it comes back: after a reset its initial key; after a leave with
  // the rejoin flag it kept the session key (that is what a TC rejoin is secured with).
  const held = how === 're-association' ? [initialKey] : [{ name: `previous-session ${SESSION_LABEL}`, key: SESSION_KEY }];
  return judgeReturn(air.frames.slice(from), { dut, held, previous: { name: SESSION_LABEL, key: SESSION_KEY }, keyring: air.keyring.all });
}

async function leaveRejoinMatrix(ctx: ConformanceContext, initial: 'install-code' | 'global'): Promise<void> {
  const results: CellResult[] = [];
  for (const leave of LEAVES) {
    for (const entry of ENTRIES) {
      for (const how of RETURNS) {
        const expected = expectedOutcome(leave, entry, how);
        const verdict = await ctx.step(`leave (${leave}) × ${entry} × ${how}: expect ${expected}`, () => runCell(ctx, initial, leave, entry, how));
        results.push({ leave, entry, how, expected, verdict });
      }
    }
  }
  const id = ctx.caseInfo.id;
  const matrix: Matrix = {
    title: `${id} leave / rejoin with the ${initial === 'install-code' ? 'install-code' : 'global (ZigBeeAlliance09)'} initial key, CBKE key in the previous session`,
    corner: 'leave · TC key entry ↓  return →',
    columns: RETURNS,
    rows: LEAVES.flatMap((leave) => ENTRIES.map((entry) => ({
      label: `${leave} · ${entry}`,
      cells: RETURNS.map((how) => {
        const r = results.find((x) => x.leave === leave && x.entry === entry && x.how === how)!;
        const flagged = r.verdict.outcome !== r.expected;
        return {
          text: flagged ? `${r.verdict.outcome} (expected ${r.expected})` : r.verdict.outcome,
          note: r.verdict.note, tone: TONE[r.verdict.outcome], flagged,
          title: [r.verdict.diagnosis, r.verdict.evidence].filter(Boolean).join(' — '),
        };
      }),
    }))),
    footnotes: [
      '"TC keeps entry": a TC that reuses the key it holds for a fresh join (profile keeps-key-after-leave, for reference)',
      '"entry deleted": the rig\'s TC after tc.deleteLinkKey (the FAQ\'s fix); "rig TC replaces entry": the rig\'s TC as it is',
      'source: shared/sources/ember-se-rejoin-after-leave-faq.txt; ✗ = not the expected outcome',
    ],
  };
  const text = renderMatrixText(matrix);
  await allure.attachment('leave/rejoin matrix', renderMatrixSvg(matrix), { contentType: 'image/svg+xml', fileExtension: 'svg' });
  await allure.attachment('leave/rejoin matrix (text)', text, { contentType: 'text/plain', fileExtension: 'txt' });
  const diagnoses = results.filter((r) => r.verdict.diagnosis).map((r) => `${r.leave} × ${r.entry} × ${r.how}: ${r.verdict.diagnosis}`);
  if (diagnoses.length) await allure.attachment('diagnoses', diagnoses.join('\n') + '\n', { contentType: 'text/plain', fileExtension: 'txt' });
  const wrong = results.filter((r) => r.verdict.outcome !== r.expected).map((r) =>
    `${r.leave} × ${r.entry} × ${r.how}: expected ${r.expected}, got ${r.verdict.outcome}${r.verdict.diagnosis ? ` — ${r.verdict.diagnosis}` : ''} (from the air: ${r.verdict.evidence})`);
  expect(wrong.length, `${wrong.length} cell(s) of the leave/rejoin matrix differ from the expected ones:\n${wrong.join('\n')}\n\n${text}`).toBe(0);
}

conformance('LR-03', (ctx) => leaveRejoinMatrix(ctx, 'install-code'), { timeoutMs: 60_000 });
conformance('LR-04', (ctx) => leaveRejoinMatrix(ctx, 'global'), { timeoutMs: 60_000 });

conformance('LR-05', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const dut = rig.dutIdentity.eui64;
  await step('TC forms the network, is given the DUT\'s install code and permits joining', () => formAndOpen(ctx, rig.dutIdentity.installCode));
  const first = await step('the DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  expect(first.joined, `join failed: ${first.reason}`).toBe(true);
  await step('the DUT leaves and reboots', async () => {
    await within('dut', 'leave', 10_000, rig.dut.leave());
    await within('dut', 'reset', 30_000, rig.dut.reset());
  });
  const rebootAt = air.mark();
  const again = await step('TC is given the DUT\'s install code again, permits joining, and the DUT joins', async () => {
    // The FAQ's remedy (delete the entry, provision the initial key again) keeps this check about
    // the DUT's counter: a TC that kept the first session's key would block the join (LR-01's catch).
    if (rig.tc.capabilities.has('key-table-edit')) await rig.tc.deleteLinkKey(dut);
    if (rig.dutIdentity.installCode) await rig.tc.addInstallCode(dut, rig.dutIdentity.installCode);
    await rig.tc.permitJoin(180);
    return within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, timeoutMs: 30_000 }));
  });
  expect(again.joined, `the DUT did not join again after its reboot: ${again.reason}`).toBe(true);
  await step('a NWK-secured frame of the DUT after the reboot is on the air', () =>
    air.expect('a NWK-secured frame from the DUT after the reboot', (f) => f.nwk?.aux?.source64 === dut, { withinMs: 10_000, from: rebootAt }));
  await step('every frame counter it used after the reboot is above every one it used before', () => {
    const counters = (fs: DissectedFrame[]) => fs.filter((f) => f.nwk?.aux?.source64 === dut && f.nwk.aux.keySeq === 0).map((f) => f.nwk!.aux!.frameCounter);
    const before = counters(air.frames.slice(0, rebootAt));
    const after = counters(air.frames.slice(rebootAt));
    expect(before.length, 'no NWK-secured frame from the DUT before the reboot').toBeGreaterThan(0);
    const highest = Math.max(...before);
    const reused = after.filter((c) => c <= highest);
    expect(reused, `after the reboot the DUT sent NWK frame counters ${reused.slice(0, 5).join(', ')} — not above ${highest}, its highest before: a receiver drops them as replays`).toEqual([]);
  });
});
