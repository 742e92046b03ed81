// Keep-Alive cluster 0x0025 (Smart Energy Trust Center keep-alive; the TC is the server). Only
// attributes, read with the ZCL global Read Attributes commands (zcl.ts); this module holds their
// ids, types, ranges and defaults, and checks a Read Attributes Response against them.
import { ZclDataType, ZclStatus, type ZclReadRecord } from '../zcl.ts';

export const KEEP_ALIVE_CLUSTER = 0x0025;

/**
 * @spec SE 1.4 (07-5356) Keep-Alive cluster — clause not available to us; the facts are from
 * protocol.md §6.3 (WS packet-zbee-zcl-se.c `dissect_zcl_keep_alive_attr_data`, ZBOSS zb_zcl_keep_alive.h, EXEGIN zcl.keepalive.h).
 */
export const KeepAliveAttribute = {
  TC_KEEP_ALIVE_BASE: 0x0000,
  TC_KEEP_ALIVE_JITTER: 0x0001,
} as const;

export interface KeepAliveAttributeSpec {
  id: number;
  dataType: number;
  unit: 'minutes' | 'seconds';
  min: number;
  max: number;
  default: number;
}

/**
 * TC Keep-Alive Base: uint8 minutes, 0x01–0xFF, default 10 (0x0A).
 * Base is one byte (WS dissects 1 byte; a Go controller that encodes it as uint16 is wrong, protocol.md §9.5).
 */
export const TC_KEEP_ALIVE_BASE: KeepAliveAttributeSpec = {
  id: KeepAliveAttribute.TC_KEEP_ALIVE_BASE,
  dataType: ZclDataType.UINT8,
  unit: 'minutes',
  min: 0x01,
  max: 0xff,
  default: 10,
};

/**
 * TC Keep-Alive Jitter: uint16 seconds, 0x0000–0x0200, default 300 (0x012C). ZBOSS
 * `ZB_ZCL_ATTR_KEEP_ALIVE_TC_KEEP_ALIVE_JITTER_DEFAULT_VALUE 0x012c` and EXEGIN
 * `ZCL_KEEPALIVE_JITTER_DEFAULT 300U`; the "500 seconds" sometimes quoted is wrong (protocol.md §6.3, §9.5).
 */
export const TC_KEEP_ALIVE_JITTER: KeepAliveAttributeSpec = {
  id: KeepAliveAttribute.TC_KEEP_ALIVE_JITTER,
  dataType: ZclDataType.UINT16,
  unit: 'seconds',
  min: 0x0000,
  max: 0x0200,
  default: 300,
};

/**
 * Consecutive failed reads after which the client starts the Trust Center swap-out search.
 * EMBER `..._FAILURE_LIMIT 3` ("Section 5.4.2.2.3.4 of 105638r09 … shall be three"); EXEGIN `ZCL_KEEPALIVE_FAIL_MAX 3U`.
 */
export const KEEP_ALIVE_FAILURE_LIMIT = 3;

export interface KeepAliveProblem {
  attributeId: number;
  /** Stable diagnostic id for reports. */
  code: 'missing' | 'status' | 'data-type' | 'out-of-range';
  message: string;
}

export interface KeepAliveParameters {
  /** Minutes, when the record was usable. */
  base?: number;
  /** Seconds, when the record was usable. */
  jitter?: number;
  problems: KeepAliveProblem[];
}

/**
 * Reads base and jitter out of the records of a Read Attributes Response from the TC, checking
 * status, data type and range of each. A client counts the read as a success only when both come
 * back usable (EMBER trust-center-keepalive.c; protocol.md §6.3 step 3).
 */
export function readKeepAliveParameters(records: readonly ZclReadRecord[]): KeepAliveParameters {
  const out: KeepAliveParameters = { problems: [] };
  const base = check(records, TC_KEEP_ALIVE_BASE, 'TC Keep-Alive Base', out.problems);
  if (base !== undefined) out.base = base;
  const jitter = check(records, TC_KEEP_ALIVE_JITTER, 'TC Keep-Alive Jitter', out.problems);
  if (jitter !== undefined) out.jitter = jitter;
  return out;
}

function check(records: readonly ZclReadRecord[], spec: KeepAliveAttributeSpec, name: string, problems: KeepAliveProblem[]): number | undefined {
  const rec = records.find((r) => r.attributeId === spec.id);
  const attributeId = spec.id;
  if (!rec) {
    problems.push({ attributeId, code: 'missing', message: `${name} (0x${spec.id.toString(16).padStart(4, '0')}) is not in the response` });
    return undefined;
  }
  if (rec.status !== ZclStatus.SUCCESS) {
    problems.push({ attributeId, code: 'status', message: `${name} came back with status 0x${rec.status.toString(16).padStart(2, '0')}` });
    return undefined;
  }
  if (rec.dataType !== spec.dataType || typeof rec.value !== 'number') {
    problems.push({
      attributeId,
      code: 'data-type',
      message: `${name} has data type 0x${(rec.dataType ?? 0).toString(16).padStart(2, '0')}, expected 0x${spec.dataType.toString(16)}`,
    });
    return undefined;
  }
  if (rec.value < spec.min || rec.value > spec.max) {
    problems.push({ attributeId, code: 'out-of-range', message: `${name} = ${rec.value} ${spec.unit}, allowed ${spec.min}..${spec.max}` });
    return undefined;
  }
  return rec.value;
}

/**
 * Window in which the next keep-alive read is due: `base·60 s + random(0 … jitter) s`
 * (EMBER masks a random value to ≤ jitter; EXEGIN `rand % (jitter·1000)` ms; protocol.md §6.3 step 4).
 */
export function keepAliveIntervalBoundsMs(baseMinutes: number, jitterSeconds: number): { min: number; max: number } {
  const min = baseMinutes * 60_000;
  return { min, max: min + jitterSeconds * 1000 };
}
