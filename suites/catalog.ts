// Every conformance test case: its ID, title, suite, the roles and capabilities it needs, the spec
// clauses and source documents it checks, and the known-bad simulated profiles it must fail on.
// Suites declare their tests from here (harness/run/fixture.ts `conformance`), so a title or a
// capability lives in one place; `sehil selftest` runs the `catches` list.
import type { CatalogCase } from './catalog-types.ts';

const BDB_IC = { ref: 'BDB 16-02828 §10.1 (install codes: 6/8/12/16 bytes + CRC-16/X-25, AES-MMO → link key)' };
const PRO_TK = { ref: 'Zigbee PRO 05-3474 §4.4.1.5 (Transport Key secured with the key-transport key of the TC link key)' };
const PRO_KTK = { ref: 'Zigbee PRO 05-3474 §4.5.3 (key-transport key = HMAC-MMO(link key, 0x00), APS key id 2)' };
const SE_KE = { ref: 'SE 1.x 07-5356 Annex C.3.1 (Key Establishment cluster 0x0800: KeyEstablishmentSuite attribute, Initiate / Ephemeral Data / Confirm Key Data / Terminate, status codes, timeouts)' };
const SE_CBKE = { ref: 'SE 1.x 07-5356 Annex C.4 (CBKE: certificates — suite 1 sect163k1 48 B, suite 2 sect283k1 74 B — ECMQV, KDF, MACU/MACV)' };
const ST_GUIDE = { ref: 'ST "Zigbee SE: CBKE and Keep-Alive" §5, §6.3 (timeouts: no Terminate to a partner that timed out), §6.4 (dynamic CBKE activation) — shared/sources/st-zigbee-se-cbke-keepalive-guide.txt' };
const SE_JOIN = { ref: 'protocol.md §7.2 (SE join: install-code key → CBKE → the CBKE key replaces the TC link key at both ends)' };
const NESCOR = { ref: 'NESCOR "Guide to Security for SEP 1.x" — install codes (shared/sources/nescor-sep1x-security-whitepaper.txt)' };
const BDB_TCLK = { ref: 'BDB 16-02828 §10.2.5 (TC link key exchange: Node_Desc_req, Request Key, Transport Key, Verify Key, Confirm Key; leave on failure)' };
const BDB_TC_POLICY = { ref: 'BDB 16-02828 §5.3 (bdbTrustCenterRequireKeyExchange, bdbTrustCenterNodeJoinTimeout 15 s)' };
const PRO_VERIFY = { ref: 'Zigbee PRO 05-3474 §4.4.7 (R21: Verify Key → Confirm Key under the new TC link key), §4.4.3 (Transport Key of a TC link key under the key-load key, APS key id 3)' };
const PRO_LEAVE = { ref: 'Zigbee PRO 05-3474 §3.6.1.10 (leave: announcement, rejoin flag, leave request), §3.4.4 (NWK Leave command)' };
const PRO_REJOIN = { ref: 'Zigbee PRO 05-3474 §3.6.1.4.2 (rejoin), §4.6.3.3 (Trust Center rejoin: network key under the device\'s TC link key)' };
const PRO_AUTH = { ref: 'Zigbee PRO 05-3474 §4.6.3.2 (a joining device is authenticated with its preconfigured / install-code link key)' };
const NRF_THREAD = { ref: 'nRF5340 / ZBOSS router vs a legacy TC that answers Request Key with ZigBeeAlliance09 (shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt)' };
const EMBER_FAQ = { ref: 'Silabs EmberZNet SE FAQ: no rejoin after leave, the TC keeps the CBKE key (stack status 0xAF) (shared/sources/ember-se-rejoin-after-leave-faq.txt)' };

const KANG = 'draft-kang-core-secure-reconfiguration-00';
const KANG_URL = 'https://datatracker.ietf.org/doc/draft-kang-core-secure-reconfiguration/00/';
const kang = (where: string) => ({ ref: `${KANG} ${where}`, url: KANG_URL });
const PSK_PROFILE = (p: string) => ({ ref: `sehil PSK profile harness/psk/PROFILE.md ${p}` });
const psk = (id: string, title: string, spec: CatalogCase['spec']): CatalogCase =>
  ({ id, suite: 'psk-reconfig', title, roles: [], needs: {}, spec, catches: [] });

const ST_KA = { ref: 'ST "Zigbee SE: CBKE and Keep-Alive" §6.2 (Keep-Alive cluster: base minutes + jitter seconds, defaults 10 min / 300 s until the first read, 3 failed reads → TCSO, 5 min cooldown; base 1 min / jitter 5 s → TCSO every 8 min = 3 × 1 min + 5 min) — shared/sources/st-zigbee-se-cbke-keepalive-guide.txt' };
const SE_KA = { ref: 'SE 1.4 07-5356 §5.4.2.2.3.4 (Keep-Alive method; clause text not available — implementation behaviour from protocol.md §6.3: EMBER trust-center-keepalive.c, EXEGIN keep-alive client)' };
const KA_ATTR = { ref: 'protocol.md §6.3 (cluster 0x0025: TC Keep-Alive Base 0x0000 uint8 minutes 1–255, Jitter 0x0001 uint16 seconds 0–512; reads APS-encrypted)' };

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
    catches: [{ role: 'tc', profile: 'ignores-install-code-crc' }],
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
  {
    id: 'LT-01', suite: 'legacy-tc',
    title: 'after joining, a Zigbee 3.0 DUT and the TC complete the TC link key exchange with a fresh unique key (Node_Desc_req → Request Key → Transport Key under the key-load key → Verify Key → Confirm Key SUCCESS)',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['tclk-exchange'], tc: ['tclk-exchange'] },
    spec: [BDB_TCLK, PRO_VERIFY, NRF_THREAD],
    catches: [{ role: 'tc', profile: 'legacy-global-key' }, { role: 'tc', profile: 'legacy-no-key-update' }],
  },
  {
    id: 'LT-02', suite: 'legacy-tc',
    title: 'a DUT that joined with ZigBeeAlliance09 drops a Transport Key whose TC link key repeats that provisional key (legacy TC), sends no Verify Key and leaves',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['tclk-exchange'] },
    spec: [BDB_TCLK, PRO_VERIFY, NRF_THREAD], simOnly: true,
    catches: [{ role: 'dut', profile: 'accepts-provisional-key-as-tclk' }],
  },
  {
    id: 'LT-03', suite: 'legacy-tc',
    title: 'interop matrix: DUT mode (strict Zigbee 3.0, legacy) × TC behaviour (requires the exchange, exchange optional, answers with the global key, never answers, pre-R21) → joined / expelled / stuck, judged from the air',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['tclk-exchange'] },
    spec: [BDB_TCLK, BDB_TC_POLICY, PRO_VERIFY, PRO_LEAVE, NRF_THREAD], simOnly: true,
    catches: [{ role: 'dut', profile: 'accepts-provisional-key-as-tclk' }, { role: 'dut', profile: 'ignores-leave' }],
  },
  {
    id: 'LR-01', suite: 'leave-rejoin',
    title: 'after a leave and a factory reset, a fresh join gets the network key under the install-code key again, not under the TC link key of the previous session',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['install-code', 'leave'], tc: ['install-code'] },
    spec: [EMBER_FAQ, PRO_AUTH, PRO_TK, PRO_KTK],
    catches: [{ role: 'tc', profile: 'keeps-key-after-leave' }],
  },
  {
    id: 'LR-02', suite: 'leave-rejoin',
    title: 'a DUT the TC asks to leave announces its leave; asked with the rejoin flag, it comes back by a secured rejoin and no key is sent',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['leave', 'rejoin-secured'] },
    spec: [PRO_LEAVE, PRO_REJOIN], simOnly: true,
    catches: [{ role: 'dut', profile: 'ignores-leave' }],
  },
  {
    id: 'LR-03', suite: 'leave-rejoin',
    title: 'leave/rejoin matrix, install-code initial key: leave with/without rejoin flag × TC keeps / deletes / replaces the key entry × secured rejoin / TC rejoin / re-association',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['install-code', 'leave', 'rejoin-secured', 'rejoin-tc'], tc: ['install-code', 'key-table-edit'] },
    spec: [EMBER_FAQ, PRO_LEAVE, PRO_REJOIN, PRO_AUTH, PRO_KTK], simOnly: true,
    catches: [{ role: 'tc', profile: 'keeps-key-after-leave' }],
  },
  {
    id: 'LR-04', suite: 'leave-rejoin',
    title: 'leave/rejoin matrix, global initial key (ZigBeeAlliance09): leave with/without rejoin flag × TC keeps / deletes / replaces the key entry × secured rejoin / TC rejoin / re-association',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['leave', 'rejoin-secured', 'rejoin-tc'], tc: ['key-table-edit'] },
    spec: [EMBER_FAQ, PRO_LEAVE, PRO_REJOIN, PRO_AUTH, PRO_KTK], simOnly: true,
    catches: [{ role: 'tc', profile: 'keeps-key-after-leave' }],
  },
  {
    id: 'LR-05', suite: 'leave-rejoin',
    title: 'the DUT\'s outgoing NWK frame counter keeps counting across a reboot: no counter is used twice under the same network key',
    roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['leave'] },
    spec: [{ ref: 'Zigbee PRO 05-3474 §4.3.1.1 (outgoing frame counter never reused; persisted across resets), TP_R21_BV-12 (protocol.md §7.5)' }],
    catches: [{ role: 'dut', profile: 'frame-counter-reuse' }],
  },
  ...cbkeCases(1),
  ...cbkeCases(2),
  ...keepAliveCases(),
  // PSK reconfiguration over CoAP. No Zigbee role: runs on any rig. Known-bad PSK role profiles
  // live in harness/psk/roles.ts (not Zigbee TC/DUT profiles, so `catches` stays empty);
  // test/psk/known-bad.test.ts proves each negative case fails on them.
  psk('PSK-01', 'node, controller and server complete the exchange and all hold PSK_i = E(RN_i ⊕ RN_c, IK_i)',
    [kang('§4 ¶2–¶7 (process flow)'), kang('§4 ¶4 (PSK_i = E(RN_i ∨ RN_c, IK_i))'), PSK_PROFILE('P1, P8, P10, P11')]),
  psk('PSK-02', 'over CoAP, M1…M5 and PSK_i are byte for byte the profile vectors (vectors/psk-reconfig.json)',
    [kang('§4'), kang('§2 (sizes)'), PSK_PROFILE('P1–P5, P10')]),
  psk('PSK-03', 'a node refuses a key offer sealed under another IK_i: no M5, no PSK_i installed',
    [kang('§4 ¶6 (E(RN_i ‖ RN_c, IK_i))'), kang('§4 ¶7'), PSK_PROFILE('P2, P11')]),
  psk('PSK-04', 'the controller refuses a replayed M1 (4.01 replay) and asks the server nothing',
    [kang('§4 ¶2 (RN_i)'), kang('§2 (RN_A: fresh random number)'), PSK_PROFILE('P11')]),
  psk('PSK-05', 'the server refuses an M2 whose timestamp is outside the window (4.01 stale / future)',
    [kang('§4 ¶3 (TS: freshness)'), kang('§2 (TS)'), PSK_PROFILE('P7')]),
  psk('PSK-06', 'the server refuses an M2 that reuses a transaction ID (4.01 replay); the first PSK_i stays',
    [kang('§4 ¶3 (TID: serial number)'), PSK_PROFILE('P9')]),
  psk('PSK-07', 'the controller refuses a forged final confirmation (4.01) and installs no PSK_i',
    [kang('§4 ¶7 (E(RN_c, PSK) to verify himself)'), PSK_PROFILE('P8')]),
  psk('PSK-08', 'tampered M2, M4 and M5 are refused (4.01 auth-failed / no M5) and install nothing',
    [kang('§4 ¶3, ¶6, ¶7'), kang('§3 (AES-128 only)'), PSK_PROFILE('P2, P3, P6')]),
  psk('PSK-09', 'malformed CoAP payloads get 4.00 with a diagnostic naming the field, and every role keeps serving',
    [kang('§4'), PSK_PROFILE('P5, P10'), { ref: 'RFC 7252 §5.9.2.1 (4.00 Bad Request), §5.5.2 (diagnostic payload)' }]),
];

export function catalogCase(id: string): CatalogCase {
  const c = CATALOG.find((x) => x.id === id);
  if (!c) throw new Error(`no test case "${id}" in suites/catalog.ts`);
  return c;
}

/** The CBKE cases of one crypto suite (suites/cbke-v1, suites/cbke-v2; bodies in suites/cbke-common.ts). */
function cbkeCases(n: 1 | 2): CatalogCase[] {
  const suite = `cbke-v${n}`;
  const cap = `cbke-v${n}` as const;
  const len = n === 1 ? 48 : 74;
  const id = (k: number) => `CB${n}-${String(k).padStart(2, '0')}`;
  const TC_FAULTS = [
    { role: 'tc' as const, profile: 'cbke-bad-mac' },
    { role: 'tc' as const, profile: 'cbke-unknown-issuer-cert' },
    { role: 'tc' as const, profile: 'cbke-slow' },
    { role: 'tc' as const, profile: 'cbke-subject-mismatch-cert' },
    { role: 'tc' as const, profile: 'cbke-corrupted-cert' },
    { role: 'tc' as const, profile: 'cbke-out-of-sequence' },
    ...(n === 2 ? [{ role: 'tc' as const, profile: 'cbke-bad-key-usage-cert' }] : []),
  ];
  const KE_STATUS = { ref: 'protocol.md §6.2 (Terminate status codes; EMBER validation → status: subject ≠ TC EUI → BAD_MESSAGE, usage lacks 0x08 → INVALID_CERTIFICATE, out-of-sequence / wrong-length message → BAD_MESSAGE); crypto.md §4.7' };
  return [
    {
      id: id(1), suite,
      title: `CBKE on suite ${n}: Initiate, Ephemeral Data and Confirm Key Data, request then response each, in order, with ${len}-byte certificates`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_KE, SE_CBKE, SE_JOIN],
      catches: TC_FAULTS,
    },
    {
      id: id(2), suite,
      title: `after CBKE on suite ${n}, APS security between the DUT and the TC uses the new link key (a TC rejoin's Transport Key opens with it)`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap, 'rejoin-tc'], tc: [cap] },
      spec: [SE_JOIN, SE_CBKE, PRO_KTK],
      catches: [{ role: 'tc', profile: 'cbke-bad-mac' }],
    },
    {
      id: id(3), suite,
      title: `suite negotiation: a DUT with both suites, facing a TC that offers only suite ${n}, proposes suite ${n}`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: ['cbke-v1', 'cbke-v2'], tc: [cap] },
      spec: [SE_KE, { ref: 'protocol.md §6.2 (the initiator reads the server\'s KeyEstablishmentSuite first: EMBER CHECK_SUPPORTED_CURVES)' }],
      catches: [{ role: 'tc', profile: 'cbke-unknown-issuer-cert' }],
    },
    {
      id: id(4), suite,
      title: `a TC certificate from an issuer the DUT does not trust is answered with Terminate UNKNOWN_ISSUER (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_KE, { ref: 'crypto.md §4.7 (issuer check → UNKNOWN_ISSUER 0x01)' }], simOnly: true,
      catches: [{ role: 'dut', profile: 'accepts-unknown-issuer' }],
    },
    {
      id: id(5), suite,
      title: `a wrong MACV from the TC is answered with Terminate BAD_KEY_CONFIRM, and the DUT keeps no CBKE key (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap, 'rejoin-tc'], tc: [cap] },
      spec: [SE_KE, SE_CBKE], simOnly: true,
      catches: [{ role: 'dut', profile: 'ignores-bad-key-confirm' }],
    },
    {
      id: id(6), suite,
      title: `the DUT sends no Terminate to a TC that timed out (late past its advertised time + slack) (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [ST_GUIDE, SE_KE], simOnly: true,
      catches: [{ role: 'dut', profile: 'terminates-after-timeout' }],
    },
    {
      id: id(7), suite,
      title: `dynamic CBKE activation: joined without Key Establishment, the DUT runs it on demand later (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap, 'cbke-dynamic'], tc: [cap] },
      spec: [ST_GUIDE, SE_KE],
      catches: [],
    },
    {
      id: id(8), suite,
      title: `a TC certificate whose subject is not the TC's EUI-64 is answered with Terminate BAD_MESSAGE, and the DUT keeps no CBKE key (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap, 'rejoin-tc'], tc: [cap] },
      spec: [SE_KE, KE_STATUS, { ref: 'crypto.md §4.7 ("verify that the certificate subject equals the partner\'s EUI-64")' }], simOnly: true,
      catches: [{ role: 'dut', profile: 'accepts-subject-mismatch' }],
    },
    {
      id: id(9), suite,
      title: `a TC certificate whose public-key reconstruction data is not a curve point is answered with Terminate INVALID_CERTIFICATE (or BAD_MESSAGE) (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_CBKE, KE_STATUS, { ref: 'crypto.md §4.1 (point decompression), §4.3 (ECQV: P_U = decompress(reconstruction data)); status for an off-curve point not pinned by a public source' }], simOnly: true,
      catches: [],
    },
    {
      id: id(10), suite,
      title: `an Ephemeral Data Response from the TC ahead of its Initiate Response is answered with Terminate BAD_MESSAGE (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_KE, KE_STATUS], simOnly: true,
      catches: [{ role: 'dut', profile: 'ignores-out-of-sequence' }],
    },
    {
      id: id(11), suite,
      title: `Key Establishment runs with NWK security only: every KE command is NWK-secured without APS security, and the DUT answers the TC's NWK-only commands (suite ${n})`,
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_KE, { ref: 'protocol.md §6.2 (KE commands unicast with APS ack, without APS encryption; NWK-encrypted), §7.1 (0x0800 absent from the SE APS-encryption list: NWK-only)' }],
      catches: [],
    },
    ...(n === 2 ? [{
      id: id(12), suite,
      title: 'a suite-2 TC certificate whose KeyUsage lacks key agreement (0x80, signature only) is answered with Terminate INVALID_CERTIFICATE',
      roles: ['tc', 'dut', 'sniffer'], needs: { dut: [cap], tc: [cap] },
      spec: [SE_KE, KE_STATUS, { ref: 'crypto.md §4.2 (suite-2 KeyUsage @36: 0x08 key agreement, 0x80 signature), §4.7 (INVALID_CERTIFICATE: type, curve, hash or KeyUsage invalid)' }], simOnly: true,
      catches: [{ role: 'dut', profile: 'ignores-key-usage' }],
    } satisfies CatalogCase] : []),
  ];
}

/** Keep-Alive (cluster 0x0025) and Trust Center Swap-Out: suites/keepalive-tcso. */
function keepAliveCases(): CatalogCase[] {
  const ka = (id: string, title: string, o: Partial<CatalogCase>): CatalogCase => ({
    id, suite: 'keepalive-tcso', title, roles: ['tc', 'dut', 'sniffer'],
    needs: { dut: ['keepalive-client'], tc: ['keepalive-server'] }, spec: [ST_KA, SE_KA, KA_ATTR], catches: [], ...o,
  });
  return [
    ka('KA-01', 'after joining, the DUT reads the TC\'s TC Keep-Alive Base and Jitter (Read Attributes of 0x0025) and then reads again every [base, base + jitter], measured over 6 intervals on the air', {
      catches: [{ role: 'tc', profile: 'no-keepalive' }, { role: 'dut', profile: 'keepalive-own-interval' }],
    }),
    ka('KA-02', 'TC unreachable: after exactly three unanswered keep-alive reads the DUT starts Trust Center Swap-Out (rejoin search on the air), then cools down 5 min before reading again — searches about 3 × base + 5 min apart', {
      needs: { dut: ['keepalive-client', 'tcso'], tc: ['keepalive-server'] },
      catches: [{ role: 'dut', profile: 'no-tcso' }],
    }),
    ka('KA-03', 'recovery: when the TC is back after a failed TCSO search, the DUT returns (rejoin or reads on its network) and its keep-alive reads resume every [base, base + jitter], with no further search', {
      needs: { dut: ['keepalive-client', 'tcso'], tc: ['keepalive-server'] },
      catches: [{ role: 'dut', profile: 'no-tcso' }],
    }),
    ka('KA-04', 'the TC answers keep-alive reads APS-secured with TC Keep-Alive Base (uint8, 1–255 min) and Jitter (uint16, 0–512 s) in range', {
      catches: [{ role: 'tc', profile: 'no-keepalive' }],
    }),
  ];
}
