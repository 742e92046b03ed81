// PSK reconfiguration of draft-kang-core-secure-reconfiguration-00 over real CoAP/UDP, with the
// profile of harness/psk/PROFILE.md. Roles the rig file's `psk:` section gives as addresses are
// external implementations; the others run in-process. Cases and spec references:
// suites/catalog.ts (PSK-*); the checks themselves: ./checks.ts.
import * as allure from 'allure-js-commons';
import { openPskSystem, type PskSystem } from '../../harness/psk/coap-binding.ts';
import { conformance } from '../../harness/run/fixture.ts';
import { PSK_CHECKS } from './checks.ts';

for (const [id, check] of Object.entries(PSK_CHECKS)) {
  conformance(id, async ({ rig, step }) => {
    const settings = rig.config.psk;
    const extra: PskSystem[] = [];
    const sys = await step('start the in-process PSK roles; reach the external ones', () => openPskSystem(settings));
    try {
      await check({ sys, settings, step, track: (s) => { extra.push(s); return s; } });
    } finally {
      const lines = [sys, ...extra].flatMap((s, i) => [`# ${i === 0 ? 'rig roles' : `kit helper system ${i}`}`, ...s.transcript()]);
      await allure.attachment('CoAP transcript', lines.join('\n') + '\n', { contentType: 'text/plain', fileExtension: 'txt' });
      for (const s of [...extra, sys]) await s.close();
    }
  }, { timeoutMs: 60_000 });
}
