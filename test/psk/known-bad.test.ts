// The kit must catch bad devices: each negative PSK-* check, run against an in-process role with a
// known-bad profile (harness/psk/roles.ts PSK_PROFILES), must FAIL, with the message that names
// the missing refusal; and pass against the compliant roles. This is the PSK counterpart of
// `sehil selftest` (whose `catches` list is for the Zigbee TC/DUT profiles).
import { describe, expect, it } from 'vitest';
import { openPskSystem, type PskSettings, type PskSystem } from '../../harness/psk/coap-binding.ts';
import { PSK_CHECKS, type PskEnv } from '../../suites/psk-reconfig/checks.ts';

async function run(id: string, settings: PskSettings): Promise<void> {
  const sys = await openPskSystem(settings);
  const extra: PskSystem[] = [];
  const env: PskEnv = { sys, settings, step: async (_n, f) => await f(), track: (s) => { extra.push(s); return s; } };
  try {
    await PSK_CHECKS[id](env);
  } finally {
    for (const s of [...extra, sys]) await s.close();
  }
}

const CAUGHT: [id: string, role: 'sbi' | 'sbr' | 'sbs', profile: string, message: RegExp][] = [
  ['PSK-03', 'sbi', 'skips-key-offer-check', /the node sent M5 \(answered 4\.01\) for a key offer sealed under another IK_i/],
  ['PSK-04', 'sbr', 'answers-replayed-hello', /replayed M1: expected 4\.01, got 2\.04/],
  ['PSK-05', 'sbs', 'ignores-timestamp', /M2 with a stale TS: expected 4\.01, got 2\.04/],
  ['PSK-06', 'sbs', 'accepts-replay', /M2 reusing a TID: expected 4\.01, got 2\.04/],
  ['PSK-07', 'sbr', 'accepts-any-confirmation', /forged M5 \(random bytes as the confirmation\): expected 4\.01, got 2\.04/],
  ['PSK-08', 'sbs', 'ignores-mic', /M2 with a bit of RN_c flipped: expected 4\.01, got 2\.04/],
  // The flipped bit is in the RN_i half of M4: a node that skips the tag still derives the right
  // PSK_i, so the controller accepts its M5 (2.04); only the node's own refusal catches it.
  ['PSK-08', 'sbi', 'skips-key-offer-check', /the node sent M5 \(answered 2\.04\) after a tampered key offer/],
];

describe('known-bad PSK roles are caught', () => {
  for (const [id, role, profile, message] of CAUGHT) {
    it(`${id} fails on ${role} profile ${profile}`, async () => {
      await expect(run(id, { [role]: { profile } })).rejects.toThrow(message);
    });
  }
  it('PSK-08 also catches a controller that accepts any confirmation (tampered M5)', async () => {
    // The tampered-M2 and tampered-M4 steps pass on this controller; the M5 step must not.
    await expect(run('PSK-08', { sbr: { profile: 'accepts-any-confirmation' } })).rejects.toThrow(/tampered M5: expected 4\.01, got 2\.04/);
  });
  for (const id of Object.keys(PSK_CHECKS)) {
    it(`${id} passes on the compliant roles`, async () => {
      await run(id, {});
    });
  }
});
