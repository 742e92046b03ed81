// Every conformance test case: its ID, title, suite, the roles and capabilities it needs, the spec
// clauses and source documents it checks, and the known-bad simulated profiles it must fail on.
// Suites declare their tests from here (harness/run/fixture.ts `conformance`), so a title or a
// capability lives in one place; `sehil selftest` runs the `catches` list.
import type { CatalogCase } from './catalog-types.ts';

const BDB_IC = { ref: 'BDB 16-02828 §10.1 (install codes: 6/8/12/16 bytes + CRC-16/X-25, AES-MMO → link key)' };
const PRO_TK = { ref: 'Zigbee PRO 05-3474 §4.4.1.5 (Transport Key secured with the key-transport key of the TC link key)' };
const PRO_KTK = { ref: 'Zigbee PRO 05-3474 §4.5.3 (key-transport key = HMAC-MMO(link key, 0x00), APS key id 2)' };
const NESCOR = { ref: 'NESCOR "Guide to Security for SEP 1.x" — install codes (shared/sources/nescor-sep1x-security-whitepaper.txt)' };

export const CATALOG: readonly CatalogCase[] = [
  {
    id: 'IC-01', suite: 'install-code',
    title: 'the TC sends the network key APS-secured under the key-transport key of the install-code key',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['install-code'], tc: ['install-code'] },
    spec: [BDB_IC, PRO_TK, PRO_KTK],
    catches: [{ role: 'tc', profile: 'unencrypted-transport-key' }],
  },
  {
    id: 'IC-02', suite: 'install-code',
    title: 'install codes of 6, 8, 12 and 16 bytes each let the device join under their own derived key',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['install-code'], tc: ['install-code'] },
    spec: [BDB_IC, PRO_TK], simOnly: true,
    catches: [{ role: 'tc', profile: 'unencrypted-transport-key' }],
  },
  {
    id: 'IC-03', suite: 'install-code',
    title: 'an install code with a bad CRC or length is refused before anything goes on the air',
    roles: ['tc', 'sniffer'], needs: { tc: ['install-code'] },
    spec: [BDB_IC],
    catches: [],
  },
  {
    id: 'IC-04', suite: 'install-code',
    title: 'a device whose install code the TC does not hold cannot join, and the network key never leaves under a key it holds',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['install-code'], tc: ['install-code'] },
    spec: [BDB_IC, PRO_TK],
    catches: [{ role: 'tc', profile: 'unencrypted-transport-key' }],
  },
  {
    id: 'IC-05', suite: 'install-code',
    title: 'the DUT\'s install code is not weak (48-bit, or a repeated or sequential pattern)',
    roles: [], needs: { dut: ['install-code'] },
    spec: [NESCOR, BDB_IC],
    catches: [],
  },
  {
    id: 'IC-06', suite: 'install-code',
    title: 'permit join closes again: the TC never opens the network without a deadline (≤ 254 s)',
    roles: ['tc', 'sniffer'], needs: { tc: ['install-code'] },
    spec: [{ ref: 'Zigbee PRO 05-3474 §2.4.3.3.7 (Mgmt_Permit_Joining: 0xFF = no limit, forbidden since R21)' }, NESCOR],
    catches: [{ role: 'tc', profile: 'long-permit-join' }],
  },
];

export function catalogCase(id: string): CatalogCase {
  const c = CATALOG.find((x) => x.id === id);
  if (!c) throw new Error(`no test case "${id}" in suites/catalog.ts`);
  return c;
}
