// One line per dissected frame, like tshark's Info column but naming the layer that speaks and
// the key that opened each secured layer:
//   APS Transport Key (TC link key) 0x0000 → 0xa18f  [nwk: nwk#0] [aps: key-load(ZigBeeAlliance09)]
//   NWK Data 0xa18f → 0x0000  [nwk: MIC failed]
// and the JSON form of a dissected frame (toJson). Pure: no `node:` imports.
import { APS_STATUS_NAMES, ApsFrameType, ApsKeyType, UPDATE_DEVICE_STATUS_NAMES } from './aps.ts';
import { keyEstablishmentCommandName, KEY_ESTABLISHMENT_CLUSTER, KEY_ESTABLISHMENT_STATUS_NAMES } from './clusters/key-establishment.ts';
import { KEEP_ALIVE_CLUSTER } from './clusters/keep-alive.ts';
import { DecodeError, type Eui64 } from './codec.ts';
import type { DissectedAps, DissectedFrame, DissectedZcl } from './dissect.ts';
import type { MacFrame } from './ieee802154.ts';
import type { NwkCommand } from './nwk.ts';
import type { SecurityAttribution, SecurityFailure } from './security-pass.ts';
import { ZCL_STATUS_NAMES, ZclFrameType } from './zcl.ts';
import { ZDP_CLUSTER_NAMES, ZDP_STATUS_NAMES, type ZdpFrame } from './zdo.ts';

const HEX = '0123456789abcdef';
function hex2(n: number): string {
  return HEX[(n >> 4) & 15] + HEX[n & 15];
}
function hex4(n: number): string {
  return '0x' + hex2(n >> 8) + hex2(n);
}
function h8(n: number): string {
  return '0x' + hex2(n);
}
/** "a4:c1:38:…", as codec.formatEui64 prints it, without its regex (this runs for many frames). */
function formatEui64(e: Eui64): string {
  let s = e.slice(0, 2);
  for (let i = 2; i < e.length; i += 2) s += ':' + e.slice(i, i + 2);
  return s;
}
function addr(a: number | Eui64 | undefined): string {
  return a === undefined ? '?' : typeof a === 'number' ? hex4(a) : formatEui64(a);
}
/** "src → dst" of a MAC header; an absent side (no addressing mode) is left out. */
function macAddrs(src: number | Eui64 | undefined, dst: number | Eui64 | undefined): string {
  if (src === undefined && dst === undefined) return '';
  return src === undefined ? ` → ${addr(dst)}` : dst === undefined ? ` ${addr(src)} →` : ` ${addr(src)} → ${addr(dst)}`;
}

const MAC_COMMAND_NAMES: Record<string, string> = {
  associationRequest: 'Association Request',
  associationResponse: 'Association Response',
  disassociation: 'Disassociation Notification',
  dataRequest: 'Data Request',
  panIdConflict: 'PAN ID Conflict',
  orphan: 'Orphan Notification',
  beaconRequest: 'Beacon Request',
  coordinatorRealignment: 'Coordinator Realignment',
};

const NWK_COMMAND_NAMES: Record<string, string> = {
  routeRequest: 'Route Request',
  routeReply: 'Route Reply',
  networkStatus: 'Network Status',
  leave: 'Leave',
  routeRecord: 'Route Record',
  rejoinRequest: 'Rejoin Request',
  rejoinResponse: 'Rejoin Response',
  linkStatus: 'Link Status',
  networkReport: 'Network Report',
  networkUpdate: 'Network Update',
  endDeviceTimeoutRequest: 'End Device Timeout Request',
  endDeviceTimeoutResponse: 'End Device Timeout Response',
};

const APS_COMMAND_TITLES: Record<number, string> = {
  0x05: 'Transport Key', 0x06: 'Update Device', 0x07: 'Remove Device', 0x08: 'Request Key', 0x09: 'Switch Key',
  0x0e: 'Tunnel', 0x0f: 'Verify Key', 0x10: 'Confirm Key', 0x11: 'Relay Message Downstream', 0x12: 'Relay Message Upstream',
};

const KEY_TYPE_TITLES: Record<number, string> = {
  [ApsKeyType.TC_MASTER]: 'TC master key',
  [ApsKeyType.STANDARD_NETWORK]: 'network key',
  [ApsKeyType.APP_MASTER]: 'application master key',
  [ApsKeyType.APP_LINK]: 'application link key',
  [ApsKeyType.TC_LINK]: 'TC link key',
  [ApsKeyType.HIGH_SECURITY_NETWORK]: 'high-security network key',
};
const keyType = (t: number): string => KEY_TYPE_TITLES[t] ?? `key type ${h8(t)}`;

const FAILURE_TEXT: Record<SecurityFailure, string> = {
  'no-key': 'no key',
  'no-key-opened': 'no key opened it',
  'mic-failed': 'MIC failed',
  'no-source-address': 'sender EUI-64 unknown',
  'too-long': 'too long for CCM*',
};

function macText(m: MacFrame): string {
  const h = m.header;
  const b = m.body;
  switch (b.kind) {
    case 'ack':
      return `MAC Ack seq ${h.seq ?? '?'}`;
    case 'beacon': {
      let t = `MAC Beacon ${addr(h.src)} PAN ${h.srcPan === undefined ? '?' : hex4(h.srcPan)}`;
      if (b.zigbee) t += ` EPID ${formatEui64(b.zigbee.extendedPanId)}`;
      if (b.superframe.associationPermit) t += ' permit join';
      return t;
    }
    case 'command': {
      const c = b.command;
      const name = c.kind === 'unknown' ? `command ${h8(c.id)}` : MAC_COMMAND_NAMES[c.kind];
      let detail = '';
      if (c.kind === 'associationResponse') detail = ` (${hex4(c.shortAddress)}, status ${h8(c.status)})`;
      return `MAC ${name}${detail}${macAddrs(h.src, h.dst)}`;
    }
    case 'data':
      return `MAC Data${macAddrs(h.src, h.dst)}`;
    case 'secured':
      return `MAC secured frame (802.15.4 security, not used by Zigbee)${macAddrs(h.src, h.dst)}`;
    default:
      return `MAC frame type ${h.frameType} version ${h.frameVersion} (not decoded)`;
  }
}

function nwkCommandText(c: NwkCommand): string {
  const name = c.kind === 'unknown' ? `command ${h8(c.id)}` : NWK_COMMAND_NAMES[c.kind];
  switch (c.kind) {
    case 'leave':
      return `${name}${c.request ? ' request' : ''}${c.rejoin ? ' (rejoin)' : ''}${c.removeChildren ? ' (remove children)' : ''}`;
    case 'rejoinResponse':
      return `${name} (${hex4(c.nwkAddress)}, status ${h8(c.status)})`;
    case 'networkStatus':
      return `${name} ${h8(c.status)} for ${hex4(c.destination)}`;
    case 'routeRequest':
      return `${name} for ${hex4(c.dst16)}${c.manyToOne ? ' (many-to-one)' : ''}`;
    default:
      return name;
  }
}

function zdoText(z: ZdpFrame): string {
  const name = ZDP_CLUSTER_NAMES[z.clusterId] ?? `cluster ${hex4(z.clusterId)}`;
  const c = z.command;
  switch (c.type) {
    case 'Device_annce':
      return `ZDO ${name} ${hex4(c.nwkAddress)} ${formatEui64(c.ieeeAddress)}`;
    case 'Mgmt_Permit_Joining_req':
      return `ZDO ${name} ${c.permitDuration} s`;
    case 'Node_Desc_req':
    case 'Active_EP_req':
    case 'Simple_Desc_req':
    case 'Match_Desc_req':
      return `ZDO ${name} ${hex4(c.nwkAddrOfInterest)}`;
    case 'Mgmt_Leave_req':
      return `ZDO ${name} ${formatEui64(c.deviceAddress)}`;
    case 'unknown':
      return `ZDO ${name}`;
    default:
      return `ZDO ${name} ${ZDP_STATUS_NAMES[c.status] ?? h8(c.status)}`;
  }
}

function zclText(z: DissectedZcl, clusterId: number): string {
  const h = z.header;
  const cluster = clusterId === KEY_ESTABLISHMENT_CLUSTER ? 'Key Establishment' : clusterId === KEEP_ALIVE_CLUSTER ? 'Keep-Alive' : `cluster ${hex4(clusterId)}`;
  let cmd: string;
  if (h.frameType !== ZclFrameType.GLOBAL) {
    if (clusterId === KEY_ESTABLISHMENT_CLUSTER && h.manufacturerCode === undefined) {
      cmd = keyEstablishmentCommandName(h.commandId, h.direction);
      const k = z.keyEstablishment;
      if (k?.type === 'initiateKeyEstablishment') cmd += ` (suite ${k.suite === 1 ? 1 : k.suite === 2 ? 2 : hex4(k.suite)})`;
      else if (k?.type === 'terminateKeyEstablishment') cmd += ` ${KEY_ESTABLISHMENT_STATUS_NAMES[k.status] ?? h8(k.status)}, wait ${k.waitTime} s`;
    } else {
      cmd = `command ${h8(h.commandId)}`;
    }
  } else {
    const c = z.command;
    switch (c.type) {
      case 'readAttributes':
        cmd = 'Read Attributes ';
        for (let i = 0; i < c.attributeIds.length; i++) cmd += (i === 0 ? '' : ',') + hex4(c.attributeIds[i]);
        break;
      case 'readAttributesResponse': {
        const k = z.keepAlive;
        cmd = k ? `Read Attributes Response base ${k.base ?? '?'} min, jitter ${k.jitter ?? '?'} s${k.problems.length ? ` (${k.problems.map((p) => p.code).join(', ')})` : ''}`
          : `Read Attributes Response (${c.records.length} record${c.records.length === 1 ? '' : 's'})`;
        break;
      }
      case 'defaultResponse':
        cmd = `Default Response to ${h8(c.commandId)}: ${ZCL_STATUS_NAMES[c.status] ?? h8(c.status)}`;
        break;
      default:
        cmd = `global command ${h8(h.commandId)}`;
    }
  }
  return `ZCL ${cluster}: ${cmd}`;
}

function apsText(a: DissectedAps): string {
  const h = a.header;
  if (h.frameType === ApsFrameType.COMMAND) {
    if (a.commandId === undefined) return a.encrypted ? 'APS Command (encrypted)' : 'APS Command';
    const name = APS_COMMAND_TITLES[a.commandId] ?? `command ${h8(a.commandId)}`;
    if (a.tunnel) return `APS Tunnel → ${formatEui64(a.tunnel.dst64)}: ${a.tunnel.frame ? apsText(a.tunnel.frame) : '?'}`;
    const c = a.command;
    if (!c) return `APS ${name}`;
    switch (c.type) {
      case 'transportKey': {
        const d = c.descriptor;
        const what = d.layout === 'network' ? `${keyType(c.keyType)} #${d.keySeq}` : d.layout === 'application' ? `${keyType(c.keyType)}, partner ${formatEui64(d.partner64)}` : keyType(c.keyType);
        return `APS ${name} (${what})`;
      }
      case 'requestKey':
        return `APS ${name} (${c.keyType === ApsKeyType.APP_MASTER ? 'application link key' : keyType(c.keyType)}${c.partner64 ? `, partner ${formatEui64(c.partner64)}` : ''})`;
      case 'verifyKey':
        return `APS ${name} (${keyType(c.keyType)}) ${formatEui64(c.src64)}`;
      case 'confirmKey':
        return `APS ${name} ${APS_STATUS_NAMES[c.status] ?? h8(c.status)} (${keyType(c.keyType)}) ${formatEui64(c.dst64)}`;
      case 'updateDevice':
        return `APS ${name} ${formatEui64(c.device64)} ${hex4(c.device16)} ${UPDATE_DEVICE_STATUS_NAMES[c.status] ?? h8(c.status)}`;
      case 'removeDevice':
        return `APS ${name} ${formatEui64(c.target64)}`;
      case 'switchKey':
        return `APS ${name} #${c.keySeq}`;
      default:
        return `APS ${name}`;
    }
  }
  if (h.frameType === ApsFrameType.ACK) return `APS Ack ${h.counter ?? ''}`.trimEnd();
  const what = h.frameType === ApsFrameType.INTER_PAN ? 'Inter-PAN' : 'Data';
  const ids = h.clusterId === undefined ? '' : ` cluster ${hex4(h.clusterId)} profile ${hex4(h.profileId ?? 0)}`;
  return `APS ${what}${ids}${a.encrypted ? ' (encrypted)' : ''}`;
}

function keyText(a: SecurityAttribution): string {
  if (!a.ok) return FAILURE_TEXT[a.reason ?? 'no-key-opened'];
  let label = a.keyLabel ?? '?';
  if (a.keyFrame !== undefined) label += ` learned #${a.keyFrame}`;
  if (a.layer === 'aps') {
    if (a.keyId === 2) return `key-transport(${label})`;
    if (a.keyId === 3) return `key-load(${label})`;
    if (a.keyId === 1) return `network(${label})`;
  }
  return label;
}

/** The Info-column line of a dissected frame (layers, addresses, keys, what went wrong). */
export function summarize(f: DissectedFrame): string {
  let text: string;
  const n = f.nwk?.header;
  const nwkAddrs = n && n.src16 !== undefined ? ` ${hex4(n.src16)} → ${hex4(n.dst16 ?? 0)}` : '';
  if (!f.mac) text = 'Malformed 802.15.4 frame';
  else if (f.zcl) text = zclText(f.zcl, f.aps?.header.clusterId ?? 0) + nwkAddrs;
  else if (f.zdo) text = zdoText(f.zdo) + nwkAddrs;
  else if (f.aps) text = apsText(f.aps) + nwkAddrs;
  else if (f.nwk?.command) text = `NWK ${nwkCommandText(f.nwk.command)}${nwkAddrs}`;
  else if (f.nwk) text = `NWK ${n!.frameType === 1 ? 'Command' : n!.frameType === 3 ? 'Inter-PAN' : 'Data'}${f.nwk.encrypted ? ' (encrypted)' : ''}${nwkAddrs}`;
  else if (f.greenPower) text = 'NWK Green Power frame';
  else text = macText(f.mac);
  // Tags joined by one space, after two: built as one string (no array per frame).
  let tags = '';
  for (let i = 0; i < f.security.length; i++) {
    const a = f.security[i];
    tags += (tags === '' ? '[' : ' [') + a.layer + ': ' + keyText(a) + ']';
  }
  if (f.learned !== undefined) {
    for (const l of f.learned) tags += (tags === '' ? '' : ' ') + (l.added ? `[learned: ${l.label}]` : `[carries: ${l.label}${l.note === 'keyring-full' ? ', keyring full' : ''}]`);
  }
  if (f.mac?.fcsOk === false) tags += tags === '' ? '[bad FCS]' : ' [bad FCS]';
  for (const e of f.errors) tags += (tags === '' ? '' : ' ') + `[${e.layer} @${e.offset}: ${e.reason}]`;
  return tags === '' ? text : text + '  ' + tags;
}

/**
 * A dissected frame as one JSON value. The shape is DissectedFrame with:
 *  - every Uint8Array as lowercase hex (on-air byte order: keys, payloads, ciphertext, MICs);
 *  - every bigint (timestampUs) as a decimal string;
 *  - every DecodeError as { layer, offset, reason };
 *  - EUI-64s as in the codecs: 16 lowercase hex digits, printed (big-endian) order;
 *  - absent fields left out (never null, except `keyLabel` of a layer no key opened).
 * So: { index, timestampUs?, channel?, length, mac?: {header, body, fcs?, fcsOk?},
 *       nwk?: {header, aux?, encrypted?, payload?, command?}, greenPower?,
 *       aps?: {header, aux?, encrypted?, commandId?, command?, tunnel?: {dst64, frame?}, payload?},
 *       zdo?: {clusterId, tsn, command, trailing?}, zcl?: {header, command, keyEstablishment?, keepAlive?},
 *       security: [{layer, keyId, keyLabel, keyOrigin?, keyFrame?, ok, reason?, tried}],
 *       learned?: [{keyType, kind, label, origin, added, note?}],
 *       errors: [{layer, offset, reason}], undecoded?: {layer, offset, bytes}, summary }
 */
export function toJson(frame: DissectedFrame): Record<string, unknown> {
  // Fixed key order (identity and summary first, layers outside-in, verdicts last) for readers of the JSON.
  const { index, timestampUs, channel, length, summary, mac, nwk, greenPower, aps, zdo, zcl, security, learned, errors, undecoded } = frame;
  return plain({ index, timestampUs, channel, length, summary, mac, nwk, greenPower, aps, zdo, zcl, security, learned, errors, undecoded }) as Record<string, unknown>;
}

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return bytesHex(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof DecodeError) return { layer: v.layer, offset: v.offset, reason: v.reason };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

function bytesHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += hex2(b[i]);
  return s;
}
