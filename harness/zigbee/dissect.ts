// The frame dissector: one PSDU in, every layer it holds out — 802.15.4 MAC → NWK → APS →
// ZDP / ZCL (with the Key Establishment and Keep-Alive clusters) — decrypted with the Keyring,
// each secured layer attributed to the key that opened it, one summary line like tshark's Info
// column. Modelled on Wireshark's Zigbee dissectors: staged per layer, a layer that fails keeps the
// layers outside it and leaves its bytes as `undecoded`, keys tried in order with the winner
// remembered, keys learned from Transport Key, and a short↔EUI-64 map learned from the air.
//
// Offsets in errors and in `undecoded` are PSDU offsets, also inside decrypted payloads: CCM*
// encrypts in counter mode, so plaintext byte i stands where ciphertext byte i was on air.
//
// Never throws on frame content: each layer catches DecodeError (and only that — anything else
// is a bug and propagates). Pure: no `node:` imports.
import { AddressMap } from './address-map.ts';
import {
  ApsCommandId, ApsFrameType, decodeApsCommand, readApsHeader, type ApsCommand, type ApsHeader,
} from './aps.ts';
import { decodeKeyEstablishmentCommand, KEY_ESTABLISHMENT_CLUSTER, type KeyEstablishmentCommand } from './clusters/key-establishment.ts';
import { KEEP_ALIVE_CLUSTER, readKeepAliveParameters, type KeepAliveParameters } from './clusters/keep-alive.ts';
import { ByteReader, DecodeError, eui64ToAir, type Eui64, type Layer } from './codec.ts';
import {
  crc16Kermit, decodeBeacon, decodeMacCommand, MacFrameType, MacFrameVersion, readMacHeader,
  type MacBody, type MacFrame, type MacHeader,
} from './ieee802154.ts';
import type { Keyring } from './keyring.ts';
import { decodeNwkCommand, NWK_PROTOCOL_GREEN_POWER, readNwkHeader, NwkFrameType, type NwkCommand, type NwkHeader } from './nwk.ts';
import { MIC_LENGTH, readAuxSecurityHeader, type AuxSecurityHeader } from './security.ts';
import { SecurityPass, type LearnedKey, type SecurityAttribution } from './security-pass.ts';
import { summarize } from './summary.ts';
import { decodeZclFrame, ZclFrameType, type ZclCommand, type ZclHeader } from './zcl.ts';
import { decodeZdp, type ZdpFrame } from './zdo.ts';

export type { LearnedKey, SecurityAttribution, SecurityFailure } from './security-pass.ts';

export interface DissectedNwk {
  header: NwkHeader;
  aux?: AuxSecurityHeader;
  /** Ciphertext ‖ MIC of a secured frame no key opened. */
  encrypted?: Uint8Array;
  /** The NWK payload: plaintext after opening, or as sent (the APS frame, or the command bytes). */
  payload?: Uint8Array;
  command?: NwkCommand;
}

export interface DissectedAps {
  header: ApsHeader;
  aux?: AuxSecurityHeader;
  /** Ciphertext ‖ MIC of a secured frame no key opened. */
  encrypted?: Uint8Array;
  /** Command frames: the command id (also when its fields did not decode). */
  commandId?: number;
  /** Command frames other than Tunnel. */
  command?: Exclude<ApsCommand, { type: 'tunnel' }>;
  /** Tunnel: the destination and the tunnelled frame, itself dissected (and opened) in turn. */
  tunnel?: { dst64: Eui64; frame?: DissectedAps };
  /** Data / inter-PAN frames: the application payload (plaintext). */
  payload?: Uint8Array;
}

export interface DissectedZcl {
  header: ZclHeader;
  command: ZclCommand;
  /** Cluster 0x0800, cluster-specific commands. */
  keyEstablishment?: KeyEstablishmentCommand;
  /** Cluster 0x0025, Read Attributes Response: base and jitter checked against their ranges. */
  keepAlive?: KeepAliveParameters;
}

export interface DissectedFrame {
  /** Frame number (1-based, as Wireshark numbers frames) unless the caller passed one. */
  index: number;
  timestampUs?: bigint;
  channel?: number;
  /** PSDU length as given (FCS included when the capture has it). */
  length: number;
  mac?: MacFrame;
  nwk?: DissectedNwk;
  /** Green Power stub NWK frame (protocol version 3): kept as bytes. */
  greenPower?: Uint8Array;
  aps?: DissectedAps;
  zdo?: ZdpFrame;
  zcl?: DissectedZcl;
  /** One entry per secured layer, outermost first (NWK, APS, a tunnelled APS frame). */
  security: SecurityAttribution[];
  /** Keys this frame's Transport Key commands carried. */
  learned?: LearnedKey[];
  /** Why decoding stopped: the layer, the PSDU offset, the reason. Empty for a frame that decoded fully. */
  errors: DecodeError[];
  /** Where the first failing layer started: its bytes, kept raw. */
  undecoded?: { layer: Layer; offset: number; bytes: Uint8Array };
  summary: string;
}

export interface FrameMeta {
  index?: number;
  timestampUs?: bigint;
  channel?: number;
  /** This PSDU ends with a 2-byte FCS; overrides the dissector's `hasFcs` (captures say it per packet). */
  hasFcs?: boolean;
}

export interface DissectorOptions {
  keyring: Keyring;
  /** The PSDUs end with the 2-byte FCS (link types 195, and 283 with FCS). */
  hasFcs: boolean;
  /** Keys Transport Key commands may add to the keyring before the rest are only reported (default 256). */
  maxLearnedKeys?: number;
}

export interface Dissector {
  dissect(psdu: Uint8Array, meta?: FrameMeta): DissectedFrame;
  readonly keyring: Keyring;
  /** The short ↔ EUI-64 bindings learned so far. */
  readonly addresses: AddressMap;
  /** Secured layers each keyring entry opened so far. */
  readonly keyUsage: SecurityPass['usage'];
}

/** Largest PSDU any 802.15.4 PHY carries (SUN PHYs, 2047 bytes); longer input is not a frame. */
const MAX_PSDU = 2047;
/** Tunnels inside tunnels: one level is the protocol, a few more are shown, deeper is refused. */
const MAX_TUNNEL_DEPTH = 4;
/** Profiles Wireshark hands to its ZCL dissector (tshark -G decodes, table zbee.profile). */
const ZCL_PROFILES = new Set([0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0106, 0x0107, 0x0108, 0x0109, 0x010a, 0xa1e0, 0xc05e, 0xc25d]);

/** NWK addressing of the frame being dissected: what APS needs for nonces and key trial (the NWK header has it). */
type NwkContext = Pick<NwkHeader, 'src16' | 'dst16' | 'src64' | 'dst64'>;

export function createDissector(opts: DissectorOptions): Dissector {
  const { keyring, hasFcs } = opts;
  const addresses = new AddressMap();
  const pass = new SecurityPass(keyring, { maxLearnedKeys: opts.maxLearnedKeys });
  let count = 0;
  /** One reader for every header of every frame (headers are read one at a time). */
  const rd = new ByteReader(new Uint8Array(0), 'mac');

  /** Records why a layer stopped and keeps its bytes (from where it started) as undecoded. */
  function stop(f: DissectedFrame, e: unknown, layer: Layer, buf: Uint8Array, start: number, base: number): void {
    if (!(e instanceof DecodeError)) throw e;
    f.errors.push(e);
    f.undecoded ??= { layer, offset: base + start, bytes: buf.subarray(start) };
  }

  function walkMac(f: DissectedFrame, psdu: Uint8Array, withFcs: boolean): void {
    if (psdu.length > MAX_PSDU) {
      f.errors.push(new DecodeError('mac', MAX_PSDU, `frame of ${psdu.length} bytes is longer than any 802.15.4 PHY carries (${MAX_PSDU})`));
      f.undecoded = { layer: 'mac', offset: 0, bytes: psdu };
      return;
    }
    let end = psdu.length;
    let fcs: number | undefined;
    if (withFcs) {
      if (psdu.length < 2) {
        stop(f, new DecodeError('mac', 0, `truncated FCS: need 2 bytes, have ${psdu.length}`), 'mac', psdu, 0, 0);
        return;
      }
      end -= 2;
      fcs = psdu[end] | (psdu[end + 1] << 8);
    }
    const bytes = end === psdu.length ? psdu : psdu.subarray(0, end);
    let header: MacHeader;
    let hdrEnd: number;
    try {
      header = readMacHeader(rd.reset(bytes, 'mac', 0, 0));
      hdrEnd = rd.offset;
    } catch (e) {
      stop(f, e, 'mac', psdu, 0, 0);
      return;
    }
    const rest = bytes.subarray(hdrEnd);
    // Same branching as decodeMacFrame, staged so that a bad body keeps the header (the raw body
    // is set first; data and secured frames get their final body at once).
    const plainLayout = header.frameVersion < MacFrameVersion.v2015 && header.frameType <= MacFrameType.command;
    const mac: MacFrame = {
      header,
      body: !plainLayout ? { kind: 'raw', raw: rest }
        : header.securityEnabled ? { kind: 'secured', raw: rest }
          : header.frameType === MacFrameType.data ? { kind: 'data', payload: rest } : { kind: 'raw', raw: rest },
    };
    if (fcs !== undefined) {
      mac.fcs = fcs;
      mac.fcsOk = crc16Kermit(bytes) === fcs;
    }
    f.mac = mac;
    if (!plainLayout || header.securityEnabled) return;
    try {
      switch (header.frameType) {
        case MacFrameType.data:
          break;
        case MacFrameType.beacon:
          mac.body = decodeBeacon(bytes, hdrEnd, 0).value;
          return;
        case MacFrameType.ack:
          mac.body = rest.length > 0 ? { kind: 'ack', trailing: rest } : { kind: 'ack' };
          return;
        default: {
          const cmd = decodeMacCommand(bytes, hdrEnd, 0);
          const body: MacBody = { kind: 'command', command: cmd.value };
          if (cmd.offset < bytes.length) body.trailing = bytes.subarray(cmd.offset);
          mac.body = body;
          const c = cmd.value;
          // Association Response: sent to the joiner's EUI-64, it carries the short address it got.
          if (c.kind === 'associationResponse' && c.status === 0 && typeof header.dst === 'string') addresses.note(c.shortAddress, header.dst, f.index);
          return;
        }
      }
    } catch (e) {
      stop(f, e, 'mac', bytes, hdrEnd, 0);
      return;
    }
    if (rest.length > 0) walkNwk(f, bytes, hdrEnd, header); // only data frames get here
  }

  function walkNwk(f: DissectedFrame, bytes: Uint8Array, start: number, mac: MacHeader): void {
    if (((bytes[start] >> 2) & 0x0f) === NWK_PROTOCOL_GREEN_POWER) {
      f.greenPower = bytes.subarray(start);
      return;
    }
    let header: NwkHeader;
    let headerEnd: number;
    try {
      header = readNwkHeader(rd.reset(bytes, 'nwk', start, 0));
      headerEnd = rd.offset;
    } catch (e) {
      stop(f, e, 'nwk', bytes, start, 0);
      return;
    }
    const nwk: DissectedNwk = { header };
    f.nwk = nwk;
    addresses.note(header.src16, header.src64, f.index);
    addresses.note(header.dst16, header.dst64, f.index);
    const ctx: NwkContext = header;
    let buf = bytes;
    let pstart = headerEnd;
    let base = 0;
    if (header.security && header.frameType !== NwkFrameType.interPan) {
      let auxEnd: number;
      try {
        nwk.aux = readAuxSecurityHeader(rd.reset(bytes, 'nwk', headerEnd, 0));
        auxEnd = rd.offset;
        const left = bytes.length - auxEnd;
        if (left < MIC_LENGTH) throw new DecodeError('nwk', auxEnd, `secured payload of ${left} bytes is shorter than the ${MIC_LENGTH}-byte MIC`);
      } catch (e) {
        stop(f, e, 'nwk', bytes, headerEnd, 0);
        return;
      }
      const aux = nwk.aux!;
      const opened = pass.openNwk({
        bytes,
        start,
        auxStart: headerEnd,
        auxEnd,
        aux,
        source64: aux.extendedNonce ? undefined : macSourceAir(mac),
      });
      f.security.push(opened.attribution);
      if (opened.plaintext === undefined) {
        nwk.encrypted = bytes.subarray(auxEnd);
        return;
      }
      // NWK security is hop by hop: the aux source is the device that sent this hop, the MAC
      // source. Learned only once the MIC verified, so a forged frame cannot rebind an address.
      if (typeof mac.src === 'number') addresses.note(mac.src, aux.source64, f.index);
      buf = opened.plaintext;
      pstart = 0;
      base = auxEnd;
    }
    nwk.payload = pstart === 0 ? buf : buf.subarray(pstart);
    if (header.frameType === NwkFrameType.command) {
      try {
        const c = decodeNwkCommand(buf, pstart, base).value;
        nwk.command = c;
        if (c.kind === 'rejoinResponse' && c.status === 0) addresses.note(c.nwkAddress, header.dst64, f.index);
      } catch (e) {
        stop(f, e, 'nwk', buf, pstart, base);
      }
    } else if ((header.frameType === NwkFrameType.data || header.frameType === NwkFrameType.interPan) && buf.length > pstart) {
      f.aps = walkAps(f, buf, pstart, base, ctx, 0);
    }
  }

  /** On-air bytes of the NWK source's EUI-64 (the APS nonce source without an extended nonce). */
  function sourceAir(ctx: NwkContext): Uint8Array | undefined {
    const known = addresses.get(ctx.src16);
    if (ctx.src64 === undefined) return known?.air;
    return known !== undefined && known.eui64 === ctx.src64 ? known.air : eui64ToAir(ctx.src64); // the map usually has it already (walkNwk noted it)
  }

  function macSourceAir(mac: MacHeader): Uint8Array | undefined {
    if (typeof mac.src === 'string') return eui64ToAir(mac.src);
    return addresses.get(mac.src)?.air;
  }

  function walkAps(f: DissectedFrame, buf: Uint8Array, start: number, base: number, ctx: NwkContext, depth: number): DissectedAps | undefined {
    let header: ApsHeader;
    let hdrEnd: number;
    try {
      header = readApsHeader(rd.reset(buf, 'aps', start, base));
      hdrEnd = rd.offset;
    } catch (e) {
      stop(f, e, 'aps', buf, start, base);
      return undefined;
    }
    const aps: DissectedAps = { header };
    let b = buf;
    let s = hdrEnd;
    let bb = base;
    if (header.security) {
      let auxEnd: number;
      try {
        aps.aux = readAuxSecurityHeader(rd.reset(buf, 'aps', hdrEnd, base));
        auxEnd = rd.offset;
        const left = buf.length - auxEnd;
        if (left < MIC_LENGTH) throw new DecodeError('aps', base + auxEnd, `secured APS frame has ${left} bytes after the aux header, less than the ${MIC_LENGTH}-byte MIC`);
      } catch (e) {
        stop(f, e, 'aps', buf, hdrEnd, base);
        return aps;
      }
      const aux = aps.aux!;
      // APS security is end to end: without an extended nonce the source is the NWK source.
      const source = aux.extendedNonce ? aux.source64 : (ctx.src64 ?? addresses.eui64Of(ctx.src16));
      const dst = ctx.dst64 ?? addresses.eui64Of(ctx.dst16);
      const opened = pass.openAps(
        {
          bytes: buf,
          start,
          auxStart: hdrEnd,
          auxEnd,
          aux,
          source64: aux.extendedNonce ? undefined : sourceAir(ctx),
        },
        source,
        [source, dst],
      );
      f.security.push(opened.attribution);
      if (opened.plaintext === undefined) {
        aps.encrypted = buf.subarray(auxEnd);
        return aps;
      }
      b = opened.plaintext;
      s = 0;
      bb = base + auxEnd;
    }
    if (header.frameType === ApsFrameType.COMMAND) walkApsCommand(f, aps, b, s, bb, ctx, depth);
    else if (header.frameType === ApsFrameType.DATA || header.frameType === ApsFrameType.INTER_PAN) {
      aps.payload = b.subarray(s);
      if (depth === 0 && b.length > s) walkApp(f, header, b, s, bb);
    } else if (b.length > s) {
      aps.payload = b.subarray(s); // an ack carries nothing; keep what is there
    }
    return aps;
  }

  function walkApsCommand(f: DissectedFrame, aps: DissectedAps, b: Uint8Array, s: number, base: number, ctx: NwkContext, depth: number): void {
    if (s < b.length) aps.commandId = b[s];
    try {
      if (aps.commandId === ApsCommandId.TUNNEL) {
        // Staged here (not decodeApsCommand) so the tunnelled frame is opened and shown even when it is cut short.
        const r = new ByteReader(b, 'aps', s + 1, base);
        const tunnel: NonNullable<DissectedAps['tunnel']> = { dst64: r.eui64('tunnel destination address') };
        aps.tunnel = tunnel;
        if (depth + 1 > MAX_TUNNEL_DEPTH) r.fail(`tunnel nested deeper than ${MAX_TUNNEL_DEPTH} levels`);
        tunnel.frame = walkAps(f, b, r.offset, base, ctx, depth + 1);
        return;
      }
      const c = decodeApsCommand(b, s, base).value as Exclude<ApsCommand, { type: 'tunnel' }>;
      aps.command = c;
      if (c.type === 'transportKey') {
        const learned = pass.learn(c, f.index);
        if (learned) (f.learned ??= []).push(learned);
        // Delivered (not tunnelled) to its destination: the NWK destination is that device.
        const d = c.descriptor;
        if (depth === 0 && (d.layout === 'network' || d.layout === 'trustCenter')) addresses.note(ctx.dst16, d.dst64, f.index);
      } else if (c.type === 'updateDevice') {
        addresses.note(c.device16, c.device64, f.index);
      }
    } catch (e) {
      stop(f, e, 'aps', b, s, base);
    }
  }

  function walkApp(f: DissectedFrame, h: ApsHeader, b: Uint8Array, s: number, base: number): void {
    if (h.profileId === 0) {
      try {
        const z = decodeZdp(h.clusterId!, b, s, base).value;
        f.zdo = z;
        if (z.command.type === 'Device_annce') addresses.note(z.command.nwkAddress, z.command.ieeeAddress, f.index);
      } catch (e) {
        stop(f, e, 'zdo', b, s, base);
      }
      return;
    }
    if (h.profileId === undefined || !ZCL_PROFILES.has(h.profileId)) return;
    try {
      const z = decodeZclFrame(b, s, base).value;
      const zcl: DissectedZcl = { header: z.header, command: z.command };
      f.zcl = zcl;
      if (h.clusterId === KEY_ESTABLISHMENT_CLUSTER && z.header.frameType === ZclFrameType.CLUSTER && z.header.manufacturerCode === undefined) {
        zcl.keyEstablishment = decodeKeyEstablishmentCommand(z.header.commandId, b, s + 3, base).value;
      } else if (h.clusterId === KEEP_ALIVE_CLUSTER && z.command.type === 'readAttributesResponse') {
        zcl.keepAlive = readKeepAliveParameters(z.command.records);
      }
    } catch (e) {
      stop(f, e, 'zcl', b, s, base);
    }
  }

  function dissect(psdu: Uint8Array, meta: FrameMeta = {}): DissectedFrame {
    count++;
    const f: DissectedFrame = { index: meta.index ?? count, length: psdu.length, security: [], errors: [], summary: '' };
    if (meta.timestampUs !== undefined) f.timestampUs = meta.timestampUs;
    if (meta.channel !== undefined) f.channel = meta.channel;
    walkMac(f, psdu, meta.hasFcs ?? hasFcs);
    f.summary = summarize(f);
    return f;
  }

  return { dissect, keyring, addresses, get keyUsage() { return pass.usage; } };
}
