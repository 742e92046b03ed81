// Behaviour profiles: how a simulated Trust Center or joiner behaves, as data. The compliant
// profiles follow the rules; each known-bad profile breaks exactly one, names the rule and cites
// where the behaviour is documented, so `sehil selftest` can prove the suites catch it.

/** Trust Center behaviour switches, read by the TC logic at each decision point. */
export interface TcBehaviour {
  /** Answer to APS Request Key (TC link key). @spec BDB 16-02828 §10.2.5; protocol.md §4.2, §4.4 */
  requestKey: 'fresh-key' | 'global-key' | 'ignore';
  /** Stack compliance revision in the Node_Desc server mask (22 = R22; 0 = pre-R21 TC). */
  stackRevision: number;
  /** Which key the TC uses for a device that joins afresh (unsecured) while it holds a newer key for it. */
  freshJoinKey: 'install-code-key' | 'current-key';
  /** Whether a device-left Update Device / leave makes the TC delete the device's key entry. */
  deleteKeyOnLeave: boolean;
  /** APS protection of Transport Key (network key) to a joiner. */
  transportKeySecurity: 'key-transport-key' | 'none';
  /** Longest permit-join the TC grants, seconds (255 = never closes, the pre-R21 meaning). */
  maxPermitJoinS: number;
  /** Refuse an install code whose CRC does not match (BDB §10.1); false: take the code as typed. */
  checkInstallCodeCrc: boolean;
  /** Keep-Alive server attributes; null = no Keep-Alive server. @spec SE 1.4 §5.4.2.2.3.4 */
  keepAlive: { baseMinutes: number; jitterSeconds: number } | null;
  cbke: {
    suites: number;
    /** Corrupt MACV before sending (BAD_KEY_CONFIRM expected from the partner). */
    corruptMac: boolean;
    /** Present a certificate from an issuer the partner does not trust. */
    unknownIssuer: boolean;
    /** Seconds beyond its advertised generate time that the TC takes to answer. */
    extraDelayS: number;
    /**
     * Present a certificate from the trusted CA that is broken this way (null = a valid one):
     * wrong-subject = subject ≠ the TC's EUI-64; corrupted-point = reconstruction data that is no
     * curve point; bad-key-usage-signature = suite-2 KeyUsage 0x80 (no key agreement).
     */
    brokenCertificate: null | 'wrong-subject' | 'corrupted-point' | 'bad-key-usage-signature';
    /** Send the Ephemeral Data Response before the Initiate Key Establishment Response. */
    ephemeralBeforeInitiate: boolean;
  };
}

/** Joiner (DUT / golden device) behaviour switches. */
export interface JoinerBehaviour {
  /** strict: Zigbee 3.0 TCLK exchange (Node_Desc → Request Key → Verify → Confirm); legacy: keep the joining key. */
  tclkMode: 'strict' | 'legacy' | 'cbke';
  /** Accept a Transport Key (TCLK) that repeats the provisional key (ZBOSS drops it). */
  acceptProvisionalKeyAsTclk: boolean;
  /** Check the partner certificate's issuer against the trusted CA list. */
  checkIssuer: boolean;
  /** Check that the TC certificate's subject is the TC's EUI-64. */
  checkSubject: boolean;
  /** Answer a KE response out of sequence with Terminate BAD_MESSAGE (false: drop it silently, go on). */
  checkSequence: boolean;
  /** Release the CBKE key only when the partner's MACV verifies, else Terminate BAD_KEY_CONFIRM (false: install it anyway). */
  checkKeyConfirm: boolean;
  /** Suite 2: refuse a TC certificate whose KeyUsage lacks key agreement (INVALID_CERTIFICATE). */
  checkKeyUsage: boolean;
  /** Send Terminate KE to a partner that timed out (SE C.3.1: must not). */
  terminateAfterTimeout: boolean;
  /** Start Trust Center Swap-Out after three failed Keep-Alive reads. */
  tcso: boolean;
  /** Read at the TC Keep-Alive Base / Jitter the TC serves (false: stay on its own, e.g. the 10 min / 300 s defaults). */
  adoptKeepAliveValues: boolean;
  /** Restart the NWK frame counter at 0 after a reset (replays old counters). */
  resetFrameCounterOnReboot: boolean;
  /** Act on a NWK Leave request / Mgmt_Leave_req addressed to it. */
  obeyLeave: boolean;
  cbkeSuites: number;
}

export interface Profile<B> {
  name: string;
  /** compliant, or the rule it breaks. */
  kind: 'compliant' | 'known-bad';
  rule?: string;
  source?: string;
  behaviour: B;
}

export const COMPLIANT_TC: TcBehaviour = {
  requestKey: 'fresh-key',
  stackRevision: 22,
  freshJoinKey: 'install-code-key',
  deleteKeyOnLeave: false,
  transportKeySecurity: 'key-transport-key',
  maxPermitJoinS: 254,
  checkInstallCodeCrc: true,
  keepAlive: { baseMinutes: 10, jitterSeconds: 300 },
  cbke: { suites: 0x0003, corruptMac: false, unknownIssuer: false, extraDelayS: 0, brokenCertificate: null, ephemeralBeforeInitiate: false },
};

export const COMPLIANT_JOINER: JoinerBehaviour = {
  tclkMode: 'strict',
  acceptProvisionalKeyAsTclk: false,
  checkIssuer: true,
  checkSubject: true,
  checkSequence: true,
  checkKeyConfirm: true,
  checkKeyUsage: true,
  terminateAfterTimeout: false,
  tcso: true,
  adoptKeepAliveValues: true,
  resetFrameCounterOnReboot: false,
  obeyLeave: true,
  cbkeSuites: 0x0003,
};

const tc = (name: string, rule: string, source: string, change: Partial<TcBehaviour>): Profile<TcBehaviour> =>
  ({ name, kind: 'known-bad', rule, source, behaviour: { ...COMPLIANT_TC, ...change } });
const joiner = (name: string, rule: string, source: string, change: Partial<JoinerBehaviour>): Profile<JoinerBehaviour> =>
  ({ name, kind: 'known-bad', rule, source, behaviour: { ...COMPLIANT_JOINER, ...change } });

export const TC_PROFILES: readonly Profile<TcBehaviour>[] = [
  { name: 'compliant', kind: 'compliant', behaviour: COMPLIANT_TC },
  tc('legacy-global-key', 'A Zigbee 3.0 TC answers Request Key with a fresh unique TC link key, never the well-known key the device joined with',
    'shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt; protocol.md §4.4 (Ember policy 0x51)', { requestKey: 'global-key', stackRevision: 21 }),
  tc('legacy-no-key-update', 'A TC that advertises stack revision ≥ 21 must answer Request Key (BDB §10.2.5)',
    'protocol.md §4.4: a pre-R21 TC that never answers; R21 joiner leaves after 3×5 s', { requestKey: 'ignore', stackRevision: 21 }),
  tc('keeps-key-after-leave', 'A device that joins afresh with its install-code key must get the network key under that key, not under the CBKE key of a previous session',
    'shared/sources/ember-se-rejoin-after-leave-faq.txt (stack status 0xAF)', { freshJoinKey: 'current-key' }),
  tc('no-keepalive', 'An SE 1.2+ TC serves the Keep-Alive cluster (base, jitter) to its SE devices',
    'shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.2; protocol.md §6.3', { keepAlive: null }),
  tc('cbke-bad-mac', 'The responder MACV must be HMAC-MMO(MacKey, 03 ‖ IDV ‖ IDU ‖ QEV ‖ QEU)', 'SE 1.x Annex C.4.2; crypto.md §4.6', { cbke: { ...COMPLIANT_TC.cbke, corruptMac: true } }),
  tc('cbke-unknown-issuer-cert', 'A certificate must be issued by a CA the partner trusts', 'SE 1.x Annex C.3.1 (UNKNOWN_ISSUER); crypto.md §4.7', { cbke: { ...COMPLIANT_TC.cbke, unknownIssuer: true } }),
  tc('cbke-slow', 'A KE partner answers within its advertised generate time (+ slack)', 'shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.3; SE C.3.1', { cbke: { ...COMPLIANT_TC.cbke, extraDelayS: 30 } }),
  tc('cbke-subject-mismatch-cert', 'The responder certificate\'s subject is the responder\'s own EUI-64 (the partner checks it: Terminate BAD_MESSAGE)',
    'crypto.md §4.7 ("verify that the certificate subject equals the partner\'s EUI-64"); protocol.md §6.2 (EMBER: subject ≠ TC EUI → BAD_MESSAGE)',
    { cbke: { ...COMPLIANT_TC.cbke, brokenCertificate: 'wrong-subject' } }),
  tc('cbke-corrupted-cert', 'The certificate\'s public-key reconstruction data is a point of the suite\'s curve (else INVALID_CERTIFICATE)',
    'crypto.md §4.2, §4.3 (ECQV: P_U = decompress(reconstruction data)), §4.7 (INVALID_CERTIFICATE); protocol.md §6.2',
    { cbke: { ...COMPLIANT_TC.cbke, brokenCertificate: 'corrupted-point' } }),
  tc('cbke-bad-key-usage-cert', 'A suite-2 CBKE certificate\'s KeyUsage has the key-agreement bit 0x08 (else INVALID_CERTIFICATE)',
    'crypto.md §4.2 (KeyUsage @36), §4.7 (INVALID_CERTIFICATE: type, curve, hash or KeyUsage invalid); protocol.md §6.2 (EMBER usage lacks 0x08)',
    { cbke: { ...COMPLIANT_TC.cbke, brokenCertificate: 'bad-key-usage-signature' } }),
  tc('cbke-out-of-sequence', 'KE responses come in order: Initiate Response, then Ephemeral Data Response, then Confirm Key Data Response',
    'protocol.md §6.2 (EMBER: bad/out-of-sequence message → BAD_MESSAGE); SE 1.x Annex C.3.1',
    { cbke: { ...COMPLIANT_TC.cbke, ephemeralBeforeInitiate: true } }),
  tc('unencrypted-transport-key', 'The network key goes to a joiner APS-encrypted with its key-transport key', 'Zigbee 05-3474 §4.4.1.5; protocol.md §7.2 (Ember RECEIVED_KEY_IN_THE_CLEAR)', { transportKeySecurity: 'none' }),
  tc('ignores-install-code-crc', 'An install code whose CRC does not match is refused before anything goes on the air',
    'Zigbee BDB 16-02828 §10.1 (the CRC guards against a mistyped code); protocol.md §0 (install code + CRC-16)', { checkInstallCodeCrc: false }),
  tc('long-permit-join', 'Permit join stays open only for a bounded time (≤ 254 s; 255 = forever is forbidden in R21+)', 'shared/sources/nescor-sep1x-security-whitepaper.txt (permit-join policy, line 547); Zigbee 05-3474 §2.4.3.3.7 (0xFF = no limit)', { maxPermitJoinS: 255 }),
];

export const JOINER_PROFILES: readonly Profile<JoinerBehaviour>[] = [
  { name: 'compliant', kind: 'compliant', behaviour: COMPLIANT_JOINER },
  { name: 'compliant-legacy', kind: 'compliant', behaviour: { ...COMPLIANT_JOINER, tclkMode: 'legacy' } },
  joiner('accepts-provisional-key-as-tclk', 'A joiner must drop a TC link key identical to its provisional key and fail the exchange',
    'protocol.md §4.4 (ZBOSS apsme_secur.c "received link key identical to provisional link key")', { acceptProvisionalKeyAsTclk: true }),
  joiner('accepts-unknown-issuer', 'A KE partner must answer an unknown issuer with Terminate UNKNOWN_ISSUER', 'SE 1.x Annex C.3.1; crypto.md §4.7', { checkIssuer: false }),
  joiner('accepts-subject-mismatch', 'A KE initiator checks that the TC certificate\'s subject is the TC\'s EUI-64 and answers a mismatch with Terminate BAD_MESSAGE',
    'crypto.md §4.7 (verify subject = partner EUI-64); protocol.md §6.2 (EMBER "subject EUI ≠ TC EUI → BAD_MESSAGE")', { checkSubject: false }),
  joiner('ignores-out-of-sequence', 'A KE message out of sequence is answered with Terminate BAD_MESSAGE, not dropped',
    'protocol.md §6.2 (EMBER: bad/out-of-sequence/wrong-length message → BAD_MESSAGE)', { checkSequence: false }),
  joiner('ignores-bad-key-confirm', 'A KE initiator whose partner\'s MACV does not verify sends Terminate BAD_KEY_CONFIRM and keeps no CBKE key',
    'SE 1.x Annex C.4.2 (key confirmation); crypto.md §4.7; protocol.md §6.2 (EMBER BAD_KEY_CONFIRM)', { checkKeyConfirm: false }),
  joiner('ignores-key-usage', 'A suite-2 KE initiator answers a TC certificate whose KeyUsage lacks key agreement (0x08) with Terminate INVALID_CERTIFICATE',
    'crypto.md §4.2 (KeyUsage @36), §4.7; protocol.md §6.2 (EMBER usage lacks 0x08)', { checkKeyUsage: false }),
  joiner('terminates-after-timeout', 'No Terminate KE is sent to a partner that timed out', 'shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.3 (SE C.3.1)', { terminateAfterTimeout: true }),
  joiner('no-tcso', 'After three failed Keep-Alive reads an SE device starts Trust Center Swap-Out', 'shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.2; protocol.md §6.3', { tcso: false }),
  joiner('keepalive-own-interval', 'An SE device reads the TC\'s Keep-Alive Base and Jitter and then reads every [base, base + jitter]',
    'shared/sources/st-zigbee-se-cbke-keepalive-guide.txt §6.2; protocol.md §6.3 step 3 (success adopts the server\'s values)', { adoptKeepAliveValues: false }),
  joiner('frame-counter-reuse', 'The outgoing NWK frame counter persists across resets', 'protocol.md §7.5 (TP_R21_BV-12)', { resetFrameCounterOnReboot: true }),
  joiner('ignores-leave', 'A device leaves when the TC asks it to (NWK Leave request / Mgmt_Leave_req)', 'Zigbee 05-3474 §3.6.1.10; protocol.md §2.5', { obeyLeave: false }),
];

export function tcProfile(name: string): Profile<TcBehaviour> {
  const p = TC_PROFILES.find((x) => x.name === name);
  if (!p) throw new RangeError(`unknown TC profile "${name}"; known: ${TC_PROFILES.map((x) => x.name).join(', ')}`);
  return p;
}

export function joinerProfile(name: string): Profile<JoinerBehaviour> {
  const p = JOINER_PROFILES.find((x) => x.name === name);
  if (!p) throw new RangeError(`unknown joiner profile "${name}"; known: ${JOINER_PROFILES.map((x) => x.name).join(', ')}`);
  return p;
}
