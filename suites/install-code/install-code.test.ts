// Install-code join, judged from the air: which key secured the Transport Key of the network
// key is read off the decoded frame (the keyring names the key that opened it), not taken from
// the TC's word. Cases and spec references: suites/catalog.ts (IC-*).
import { expect } from 'vitest';
import { bytesToHex } from '../../harness/crypto/bytes.ts';
import { deriveInstallCodeLinkKey, InstallCodeError, parseInstallCode } from '../../harness/crypto/install-code.ts';
import { SimJoiner } from '../../devices/sim/driver.ts';
import { conformance, type ConformanceContext } from '../../harness/run/fixture.ts';
import { and, apsSecurityOf, isBeacon, isTransportKey, isZdo } from '../../harness/run/match.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { weakInstallCodeFindings } from './weak-codes.ts';

/** Install codes with their CRC, one per length BDB allows (protocol.md §0: spec and herdsman vectors, plus derived). */
const CODES_BY_LENGTH: Record<number, string> = {
  6: 'A1B2C3D4E5F6',
  8: '1122334455667788',
  12: '83FED3407A939723A5C639FF',
  16: '83FED3407A939723A5C639B26916D505',
};

async function formAndOpen(ctx: ConformanceContext, installCode: string | undefined, seconds = 60): Promise<void> {
  const { rig, step } = ctx;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  if (installCode) await step(`TC is given the DUT's install code (${rig.dutIdentity.eui64})`, () => rig.tc.addInstallCode(rig.dutIdentity.eui64, installCode));
  await step(`TC permits joining for ${seconds} s`, () => rig.tc.permitJoin(seconds));
}

function keyLabelBytes(ctx: ConformanceContext, label: string | null | undefined): string | undefined {
  const entry = ctx.air.keyring.all.find((k) => k.label === label);
  return entry && bytesToHex(entry.key);
}

/** The verdict of IC-01/IC-02: the network key left APS-secured (key id 2) under the key derived from `expectedKey`. */
function expectTransportKeyUnder(ctx: ConformanceContext, tk: DissectedFrame, expectedKey: Uint8Array): void {
  const sec = apsSecurityOf(tk);
  expect(sec, `frame ${tk.index} (${tk.summary}) carries the network key without APS security`).toBeDefined();
  expect(sec!.ok, `frame ${tk.index}: no key the kit knows opened the Transport Key`).toBe(true);
  expect(sec!.keyId, `frame ${tk.index}: Transport Key of the network key must use the key-transport key (APS key id 2)`).toBe(2);
  expect(keyLabelBytes(ctx, sec!.keyLabel), `frame ${tk.index} opened with "${sec!.keyLabel}", not the install-code key`).toBe(bytesToHex(expectedKey));
}

conformance('IC-01', async (ctx) => {
  const { rig, air, step, within } = ctx;
  await formAndOpen(ctx, rig.dutIdentity.installCode);
  const from = air.mark();
  const result = await step('DUT joins', () => within('dut', 'join result', 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId })));
  const tk = await step('the Transport Key of the network key is on the air', () =>
    air.expect('APS Transport Key (network key) to the DUT', isTransportKey(), { withinMs: 5_000, from }));
  await step('it is secured with the key-transport key of the install-code key', () => expectTransportKeyUnder(ctx, tk, ctx.dutInstallCodeKey!));
  expect(result.joined, `DUT did not join: ${result.reason}`).toBe(true);
});

conformance('IC-02', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const dut = rig.dut as SimJoiner;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  for (const [len, code] of Object.entries(CODES_BY_LENGTH)) {
    await step(`${len}-byte install code`, async () => {
      const parsed = parseInstallCode(code); // appends the CRC the code lacks
      dut.setInstallCode(code);
      await rig.tc.deleteLinkKey(dut.eui64);
      await rig.tc.addInstallCode(dut.eui64, code);
      await rig.tc.permitJoin(60);
      const from = air.mark();
      const result = await within('dut', `join with the ${len}-byte code`, 60_000, rig.dut.join({ channel: rig.channel, panId: rig.panId }));
      const tk = await air.expect(`Transport Key under the ${len}-byte code's key`, isTransportKey(), { withinMs: 5_000, from });
      expectTransportKeyUnder(ctx, tk, deriveInstallCodeLinkKey(parsed));
      expect(result.joined, `${len}-byte code: ${result.reason}`).toBe(true);
      await within('dut', 'leave', 10_000, rig.dut.leave());
    });
  }
});

conformance('IC-03', async (ctx) => {
  const { rig, air, step } = ctx;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  const good = parseInstallCode(rig.dutIdentity.installCode ?? CODES_BY_LENGTH[16]);
  const badCrc = bytesToHex(good.code) + ((good.crc ^ 0x0101) & 0xff).toString(16).padStart(2, '0') + ((good.crc ^ 0x0101) >> 8).toString(16).padStart(2, '0');
  const from = air.mark();
  for (const [what, code] of [['a wrong CRC', badCrc], ['10 bytes (no such length)', '00112233445566778899'], ['not hex', 'install-me']] as const) {
    await step(`TC refuses an install code with ${what}`, async () => {
      await expect(rig.tc.addInstallCode(rig.dutIdentity.eui64, code)).rejects.toThrow(/CRC|length|bytes|hex/i);
      // The kit's own parser refuses it the same way, naming the expected CRC.
      expect(() => parseInstallCode(code)).toThrow(InstallCodeError);
    });
  }
  await step('nothing went on the air meanwhile', () =>
    air.expectNone('a frame from the TC after a refused install code', (f) => f.index > from, { forMs: 2_000, from }));
});

conformance('IC-04', async (ctx) => {
  const { rig, air, step, within } = ctx;
  const other = '000102030405060708090A0B0C0D0E0F';
  await formAndOpen(ctx, other);
  const from = air.mark();
  const result = await step('DUT tries to join', () => within('dut', 'join result', 90_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, timeoutMs: 60_000 })));
  await step('no Transport Key of the network key went out in the clear or under the DUT\'s own key', async () => {
    await air.refreshKeys();
    const leaked = air.frames.slice(from).filter((f) => {
      if (!isTransportKey()(f)) return false;
      const sec = apsSecurityOf(f);
      return !sec || keyLabelBytes(ctx, sec.keyLabel) === bytesToHex(ctx.dutInstallCodeKey!);
    });
    expect(leaked.map((f) => `#${f.index} ${f.summary}`), 'network key readable by a device with the wrong install code').toEqual([]);
  });
  expect(result.joined, 'DUT joined although the TC holds another install code for it').toBe(false);
});

conformance('IC-05', async (ctx) => {
  const { rig, step } = ctx;
  const findings = await step('judge the DUT\'s install code', () => weakInstallCodeFindings(rig.dutIdentity.installCode!));
  expect(findings, `install code ${rig.dutIdentity.installCode} is weak`).toEqual([]);
});

conformance('IC-06', async (ctx) => {
  const { rig, air, step, within } = ctx;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  if (rig.dutIdentity.installCode) await rig.tc.addInstallCode(rig.dutIdentity.eui64, rig.dutIdentity.installCode);
  const from = air.mark();
  await step('TC is asked to permit joining with 255 (no limit)', () => rig.tc.permitJoin(255));
  const req = await air.expect('Mgmt_Permit_Joining_req broadcast', isZdo('Mgmt_Permit_Joining_req'), { withinMs: 5_000, from });
  const cmd = req.zdo!.command as { permitDuration?: number };
  expect(cmd.permitDuration, 'the TC announced permit joining without a time limit (0xFF)').toBeLessThanOrEqual(254);
  await step('wait past 254 s', () => rig.clock.sleep(260_000));
  const late = air.mark();
  const result = await step('a device tries to join after the window', () =>
    within('dut', 'join result', 90_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, timeoutMs: 20_000 })));
  const beacon = await air.expect('a beacon from the TC', and(isBeacon, (f) => f.index > late), { withinMs: 20_000, from: late });
  const sf = beacon.mac!.body.kind === 'beacon' ? beacon.mac!.body.superframe : undefined;
  expect(sf?.associationPermit, 'the TC still permits association 260 s after a request for "forever"').toBe(false);
  expect(result.joined, 'a device joined 260 s after a request for "forever"').toBe(false);
}, { longestWaitMs: 260_000 });
