// Keep-Alive attribute values as the apps hold them: TC Keep-Alive Base (minutes) and Jitter
// (seconds), their defaults and range check. @spec protocol.md §6.3; zigbee/clusters/keep-alive.ts
import { TC_KEEP_ALIVE_BASE, TC_KEEP_ALIVE_JITTER } from '../../zigbee/clusters/keep-alive.ts';

export interface KeepAliveParams {
  /** TC Keep-Alive Base, minutes (uint8, 1..255). */
  baseMinutes: number;
  /** TC Keep-Alive Jitter, seconds (uint16, 0..512). */
  jitterSeconds: number;
}

/** Defaults a client uses until its first successful read (ST guide §6.2: 10 min, 0x012C = 300 s; protocol.md §6.3). */
export const KEEP_ALIVE_DEFAULTS: Readonly<KeepAliveParams> = Object.freeze({
  baseMinutes: TC_KEEP_ALIVE_BASE.default,
  jitterSeconds: TC_KEEP_ALIVE_JITTER.default,
});

export function checkKeepAliveParams(p: KeepAliveParams, title = 'keep-alive parameters'): KeepAliveParams {
  const { baseMinutes: b, jitterSeconds: j } = p;
  if (!Number.isInteger(b) || b < TC_KEEP_ALIVE_BASE.min || b > TC_KEEP_ALIVE_BASE.max) {
    throw new RangeError(`${title}: "baseMinutes" must be an integer ${TC_KEEP_ALIVE_BASE.min}..${TC_KEEP_ALIVE_BASE.max}, got ${b}`);
  }
  if (!Number.isInteger(j) || j < TC_KEEP_ALIVE_JITTER.min || j > TC_KEEP_ALIVE_JITTER.max) {
    throw new RangeError(`${title}: "jitterSeconds" must be an integer ${TC_KEEP_ALIVE_JITTER.min}..${TC_KEEP_ALIVE_JITTER.max}, got ${j}`);
  }
  return { baseMinutes: b, jitterSeconds: j };
}
