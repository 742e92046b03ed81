// The Zigbee 3.0 TC link key exchange and legacy Trust Centers, judged from the air: the scenario
// of shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt (a strict nRF/ZBOSS router joins a
// legacy coordinator that answers Request Key with ZigBeeAlliance09; the router drops the key and
// leaves) and its neighbours. Cases and spec references: suites/catalog.ts (LT-*).
import * as allure from 'allure-js-commons';
import { expect } from 'vitest';
import { bytesToHex, equalBytes, hexToBytes } from '../../harness/crypto/bytes.ts';
import { SimJoiner, SimTrustCenter } from '../../devices/sim/driver.ts';
import { conformance, type ConformanceContext } from '../../harness/run/fixture.ts';
import {
  and, apsCommandOf, apsSecurityOf, isApsCommand, isLeaveDemand, isNwkLeave, isZdo, or, transportedKey,
} from '../../harness/run/match.ts';
import { renderMatrixSvg, renderMatrixText, type Matrix, type Tone } from '../../harness/run/svg.ts';
import type { JoinerBehaviour, TcBehaviour } from '../../harness/stack/profiles.ts';
import { ApsKeyType, ApsStatus } from '../../harness/zigbee/aps.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { isTclkTransport, judgeInterop, wellKnownKeyName, type InteropOutcome } from './judge.ts';

const ZBA09 = hexToBytes('5a6967426565416c6c69616e63653039');

/** bdbTrustCenterNodeJoinTimeout (15 s) and 3 × bdbcTCLinkKeyExchangeTimeout (5 s), plus slack. */
const SETTLE_MS = 20_000;

async function formAndOpen(ctx: ConformanceContext, installCode: string | undefined): Promise<void> {
  const { rig, air, step } = ctx;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  if (installCode) await step(`TC is given the DUT's install code (${rig.dutIdentity.eui64})`, () => rig.tc.addInstallCode(rig.dutIdentity.eui64, installCode));
  await air.refreshKeys(); // the network key: NWK-secured frames open as they are heard
  await step('TC permits joining for 180 s', () => rig.tc.permitJoin(180));
}

/** The label of the keyring entry holding `key` (what the trace and the key file call it). */
function labelOf(ctx: ConformanceContext, key: Uint8Array): string | undefined {
  return ctx.air.keyring.all.find((k) => k.kind === 'link' && equalBytes(k.key, key))?.label;
}

/** The key bytes of the keyring entry that opened the frame's APS layer. */
function apsKeyOf(ctx: ConformanceContext, f: DissectedFrame): Uint8Array | undefined {
  const sec = apsSecurityOf(f);
  return sec?.ok ? ctx.air.keyring.all.find((k) => k.label === sec.keyLabel)?.key : undefined;
}

const fromDut = (dut: string, type: 'verifyKey') => (f: DissectedFrame) => { const c = apsCommandOf(f); return c?.type === type && c.src64 === dut; };
const confirmTo = (dut: string) => (f: DissectedFrame) => { const c = apsCommandOf(f); return c?.type === 'confirmKey' && c.dst64 === dut; };

conformance('LT-01', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const dut = rig.dutIdentity.eui64;
  await formAndOpen(ctx, rig.dutIdentity.installCode);
  const provisional = ctx.dutInstallCodeKey ?? ZBA09;
  const provisionalName = ctx.dutInstallCodeKey ? 'install-code key' : 'well-known key ZigBeeAlliance09';
  const from = air.mark();
  const result = await step('DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  const [, , tk, verify, confirm] = await step('the TC link key exchange is on the air: Node_Desc_req → Request Key → Transport Key → Verify Key → Confirm Key', () =>
    air.expectSequence([
      { awaited: 'Node_Desc_req to the TC (stack revision of the TC)', match: isZdo('Node_Desc_req') },
      { awaited: 'APS Request Key (TC link key)', match: and(isApsCommand('requestKey'), (f) => { const c = apsCommandOf(f); return c?.type === 'requestKey' && c.keyType === ApsKeyType.TC_LINK; }) },
      { awaited: 'APS Transport Key (TC link key) to the DUT', match: isTclkTransport(dut) },
      { awaited: 'APS Verify Key from the DUT', match: fromDut(dut, 'verifyKey') },
      { awaited: 'APS Confirm Key to the DUT', match: confirmTo(dut) },
    ], { withinMs: 30_000, from }));
  const tclk = transportedKey(tk)!;
  await step(`the Transport Key came under the key-load key of the DUT's ${provisionalName}`, () => {
    const sec = apsSecurityOf(tk);
    expect(sec?.ok, `frame ${tk.index} (${tk.summary}): Transport Key of the TC link key not APS-secured with a key the kit knows`).toBe(true);
    expect(sec!.keyId, `frame ${tk.index}: a TC link key travels under the key-load key (APS key id 3)`).toBe(3);
    expect(bytesToHex(apsKeyOf(ctx, tk)!), `frame ${tk.index} opened with "${sec!.keyLabel}", not the DUT's ${provisionalName}`).toBe(bytesToHex(provisional));
  });
  await step('the TC link key is fresh: neither a well-known key nor the provisional key', () => {
    const known = wellKnownKeyName(tclk);
    expect(known, `frame ${tk.index}: the TC answered Request Key with the well-known key ${known} (a legacy TC policy; a Zigbee 3.0 TC sends a fresh unique key)`).toBeUndefined();
    expect(equalBytes(tclk, provisional), `frame ${tk.index}: the TC link key repeats the DUT's provisional ${provisionalName}`).toBe(false);
  });
  await step('Confirm Key SUCCESS, APS-secured (data key) under the new TC link key', () => {
    const c = apsCommandOf(confirm);
    expect(c?.type === 'confirmKey' && c.status, `frame ${confirm.index}: Confirm Key status`).toBe(ApsStatus.SUCCESS);
    const sec = apsSecurityOf(confirm);
    expect(sec?.keyId, `frame ${confirm.index}: Confirm Key must be APS-secured with the data key (key id 0)`).toBe(0);
    expect(bytesToHex(apsKeyOf(ctx, confirm) ?? new Uint8Array(16)), `frame ${confirm.index} opened with "${sec?.keyLabel}", not the TC link key of frame ${tk.index} ("${labelOf(ctx, tclk)}")`).toBe(bytesToHex(tclk));
    expect(verify.index).toBeLessThan(confirm.index);
  });
  await step('the DUT stays: no leave from or to it past bdbTrustCenterNodeJoinTimeout', () =>
    air.expectNone('a leave request to the DUT or its leave announcement', or(isLeaveDemand(dut), isNwkLeave({ device: dut })), { forMs: SETTLE_MS, from }));
  expect(result.joined, `DUT did not join: ${result.reason}`).toBe(true);
});

conformance('LT-02', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const tc = rig.tc as SimTrustCenter;
  const dutRole = rig.dut as SimJoiner;
  const dut = rig.dutIdentity.eui64;
  await step('the TC is a legacy coordinator that answers Request Key with ZigBeeAlliance09 (profile legacy-global-key)', () => tc.reconfigure({ profile: 'legacy-global-key' }));
  await step('the DUT joins with the well-known key, in strict Zigbee 3.0 mode (as the nRF router of the thread)', () => {
    dutRole.provisionForTest({ installCode: null });
    dutRole.setTclkMode('strict');
  });
  await formAndOpen(ctx, undefined);
  const from = air.mark();
  const result = await step('DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  const tk = await step('the TC sends a TC link key equal to ZigBeeAlliance09', async () => {
    const f = await air.expect('APS Transport Key (TC link key) to the DUT', isTclkTransport(dut), { withinMs: 20_000, from });
    expect(bytesToHex(transportedKey(f)!), `frame ${f.index}: the legacy TC was expected to send ZigBeeAlliance09`).toBe(bytesToHex(ZBA09));
    return f;
  });
  await step('the DUT drops it: no Verify Key for that key', () =>
    air.expectNone('APS Verify Key from the DUT (it accepted a TC link key identical to its provisional key)', and(fromDut(dut, 'verifyKey'), (f) => f.index > tk.index), { forMs: SETTLE_MS, from: tk.index }));
  await step('and leaves the network (TC link key exchange failed)', () =>
    air.expect('the DUT\'s leave announcement after the dropped key', and(isNwkLeave({ request: false, device: dut }), (f) => f.index > tk.index), { withinMs: 1_000, from: tk.index }));
  expect(result.joined, 'the DUT reported itself joined with a TC link key equal to its provisional key').toBe(false);
});

// LT-03 — the interop matrix -------------------------------------------------------------------

interface TcColumn { label: string; profile: string; behaviour?: Partial<TcBehaviour>; requireKeyExchange?: boolean }
interface DutRow { label: string; mode: JoinerBehaviour['tclkMode'] }

const TC_COLUMNS: readonly TcColumn[] = [
  { label: 'Z3.0, requires exchange', profile: 'compliant' },
  { label: 'Z3.0, exchange optional', profile: 'compliant', requireKeyExchange: false },
  { label: 'answers with global key', profile: 'legacy-global-key' },
  { label: 'never answers (R21)', profile: 'legacy-no-key-update' },
  { label: 'pre-R21, no exchange', profile: 'compliant', behaviour: { requestKey: 'ignore', stackRevision: 0 } },
];
const DUT_ROWS: readonly DutRow[] = [
  { label: 'strict Zigbee 3.0', mode: 'strict' },
  { label: 'legacy', mode: 'legacy' },
];
/** What a compliant joiner in each mode must come to with each TC (BDB §10.2.5, §5.3; the thread). */
const EXPECTED: Record<DutRow['mode'], readonly InteropOutcome[]> = {
  strict: ['joined', 'joined', 'stuck', 'stuck', 'joined'],
  legacy: ['expelled', 'joined', 'joined', 'joined', 'joined'],
  cbke: [],
};
const TONE: Record<InteropOutcome, Tone> = { joined: 'good', expelled: 'warn', stuck: 'bad', 'ignored-leave': 'bad' };

conformance('LT-03', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const tc = rig.tc as SimTrustCenter;
  const dutRole = rig.dut as SimJoiner;
  const dut = rig.dutIdentity.eui64;
  const results: { row: DutRow; col: TcColumn; outcome: InteropOutcome; note: string; evidence: string; expected: InteropOutcome }[] = [];
  for (const row of DUT_ROWS) {
    for (const [ci, col] of TC_COLUMNS.entries()) {
      await step(`${row.label} DUT × TC ${col.label}`, async () => {
        tc.reconfigure({ profile: col.profile, behaviour: col.behaviour, requireKeyExchange: col.requireKeyExchange });
        dutRole.provisionForTest({ installCode: null }); // the thread's router joins with ZigBeeAlliance09
        dutRole.setTclkMode(row.mode);
        await rig.tc.form({ channel: rig.channel, panId: rig.panId });
        await air.refreshKeys();
        await rig.tc.permitJoin(180);
        const from = air.mark();
        const t0 = rig.clock.now();
        await within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId }));
        await rig.clock.sleep(Math.max(0, t0 + SETTLE_MS + 5_000 - rig.clock.now()));
        await air.refreshKeys();
        const v = judgeInterop(air.frames.slice(from), dut, ZBA09);
        results.push({ row, col, ...v, expected: EXPECTED[row.mode][ci] });
      });
    }
  }
  const matrix: Matrix = {
    title: 'LT-03 interop: DUT TC-link-key mode × TC behaviour (DUT joins with ZigBeeAlliance09)',
    corner: 'DUT ↓  TC →',
    columns: TC_COLUMNS.map((c) => c.label),
    rows: DUT_ROWS.map((row) => ({
      label: row.label,
      cells: TC_COLUMNS.map((col) => {
        const r = results.find((x) => x.row === row && x.col === col)!;
        const flagged = r.outcome !== r.expected;
        return { text: flagged ? `${r.outcome} (expected ${r.expected})` : r.outcome, note: r.note, tone: TONE[r.outcome], flagged, title: r.evidence };
      }),
    })),
    footnotes: [
      'joined = on the network at the end; expelled = TC leave request, then its leave; stuck = left by itself / never up',
      '✗ = not what a compliant device in that mode must come to (BDB 16-02828 §10.2.5, §5.3)',
      'source: shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt',
    ],
  };
  const text = renderMatrixText(matrix);
  await allure.attachment('interop matrix', renderMatrixSvg(matrix), { contentType: 'image/svg+xml', fileExtension: 'svg' });
  await allure.attachment('interop matrix (text)', text, { contentType: 'text/plain', fileExtension: 'txt' });
  const wrong = results.filter((r) => r.outcome !== r.expected)
    .map((r) => `${r.row.label} DUT × TC ${r.col.label}: expected ${r.expected}, got ${r.outcome} (${r.note}) — from the air: ${r.evidence}`);
  expect(wrong.length, `${wrong.length} cell(s) of the interop matrix differ from the expected ones:\n${wrong.join('\n')}\n\n${text}`).toBe(0);
}, { timeoutMs: 60_000 });
