// The simulated Zigbee stack: nodes, the Trust Center and joiner logics, their transcripts.
export { ZigbeeNode, type ZigbeeNodeOptions, type DeviceType } from './node.ts';
export { TrustCenter, type TrustCenterOptions, type FormOptions, type TcKeyTableEntry } from './trust-center.ts';
export type { TcDevice, TclkState, TcOptions } from './tc-state.ts';
export {
  Joiner, type JoinerOptions, type JoinRequest, type StackJoinResult, type JoinFailureCode, type TclkStatus, type JoinerEvent, type JoinerDeviceType,
} from './joiner.ts';
export type { RejoinRequest } from './joiner-rejoin.ts';
export { APS_SECURITY_TIMEOUT_MS, EmberStatus } from './joiner-key.ts';
export { TCLK_EXCHANGE_ATTEMPTS, TCLK_EXCHANGE_TIMEOUT_MS } from './joiner-tclk.ts';
export { Transcript, mergeTranscripts, formatEvent, type TranscriptEvent, type Tracer } from './transcript.ts';
export { KeyMaterial, wellKnownTcLinkKey, isWellKnownKey } from './keys.ts';
export { MacTiming, type BeaconInfo } from './mac.ts';
export { APS_ACK_WAIT_MS, APS_MAX_FRAME_RETRIES, type ApsCommandIndication } from './aps.ts';
export { cryptoKeyRandom, seededKeyRandom, randomSource } from './random.ts';
export { Signal, Deadline } from './signal.ts';
export * from './profiles.ts';
export type * from './app.ts';
export {
  hostSeTrustCenter, hostSeDevice, SE_ENDPOINT, type SeTrustCenter, type SeTrustCenterOptions, type SeDevice, type SeDeviceOptions, type SeJoinResult,
} from './smart-energy.ts';
