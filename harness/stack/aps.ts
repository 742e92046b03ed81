// APS layer of a simulated node: data, command and ack frames; link-key security with key
// ids 0 (data), 2 (key-transport) and 3 (key-load); the APS frame counter (out: in Nvm; in: per
// partner, unique keys only); acks with apscMaxFrameRetries; the duplicate rejection table.
// @spec Zigbee 05-3474 §2.2.8.4 (acks, retries, duplicates), §4.4.1 (APS frame security); protocol.md §3
import type { ApsDataIndication, ApsDataRequest, ApsSendResult } from './app.ts';
import { ByteWriter, type Eui64 } from '../zigbee/codec.ts';
import {
  ApsDeliveryMode, ApsFrameType, decodeApsCommand, decodeApsHeader, encodeApsCommand, writeApsHeader,
  type ApsCommand, type ApsHeader,
} from '../zigbee/aps.ts';
import { decodeAuxSecurityHeader, KeyId, secureLayer, unsecureLayer, type AuxSecurityHeader } from '../zigbee/security.ts';
import type { AddressMap } from './address-map.ts';
import type { NetState, NodeContext, Nvm } from './context.ts';
import type { KeyMaterial } from './keys.ts';
import type { LinkKeyEntry, LinkKeyTable } from './link-keys.ts';
import { isBroadcast, type Nwk, type NwkHop, type NwkIndication, type NwkTxStatus } from './nwk.ts';
import { Signal } from './signal.ts';

/** apscMaxFrameRetries. @spec Zigbee 05-3474 Table 2.23 */
export const APS_MAX_FRAME_RETRIES = 3;
/** apsAckWaitDuration as ZBOSS sets it: 3 s to a receiver that is on, 10 s to a sleepy one (protocol.md §8). */
export const APS_ACK_WAIT_MS = 3_000;
export const APS_ACK_WAIT_SLEEPY_MS = 10_000;
/** How long a received (source, APS counter) is remembered (ZBOSS APS dup timeout, protocol.md §8). */
const DUPLICATE_HOLD_MS = 21_000;

/** APS protection of an outgoing frame: a link key and the key id it is used under, or none. */
export type ApsSecurity = { keyId: 0 | 2 | 3; key: KeyMaterial } | 'none';

export interface ApsCommandIndication {
  command: ApsCommand;
  /** Plaintext command bytes, id first (a Tunnel's inner frame is `raw.subarray(9)`). */
  raw: Uint8Array;
  srcShort: number;
  srcEui64?: Eui64;
  apsSecured: boolean;
  keyId?: number;
  /** The table entry whose key opened the frame, and whether its unverified candidate did. */
  key?: LinkKeyEntry;
  usedCandidate: boolean;
  nwkSecured: boolean;
  broadcast: boolean;
}

export interface ApsSecurityFailure {
  srcShort: number;
  sender?: Eui64;
  keyId: number;
  /** Label of the key tried (never its bytes), or undefined when no key was held at all. */
  tried?: string;
  frameType: number;
}

export interface ApsCommandRequest {
  dst16: number;
  command: ApsCommand;
  security: ApsSecurity;
  nwkSecurity: boolean;
  dst64?: Eui64;
  via?: NwkHop;
  radius?: number;
}

export class Aps {
  readonly commands = new Signal<ApsCommandIndication>();
  readonly securityFailures = new Signal<ApsSecurityFailure>();
  onDataIndication: (ind: ApsDataIndication) => void = () => {};
  private counter: number;
  private readonly acks = new Signal<{ src16: number; counter: number }>();
  private readonly recent = new Map<number, number>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly nwk: Nwk,
    private readonly net: NetState,
    private readonly nvm: Nvm,
    private readonly keys: LinkKeyTable,
    private readonly addresses: AddressMap,
  ) {
    this.counter = ctx.random.int(256);
    nwk.onData = (ind) => this.onNwkData(ind);
  }

  private nextCounter(): number {
    this.counter = (this.counter + 1) & 0xff;
    return this.counter;
  }

  /** Header ‖ (aux ‖ ciphertext ‖ MIC | plaintext) with a fresh APS frame counter when secured. */
  private build(header: ApsHeader, body: Uint8Array, security: ApsSecurity): Uint8Array {
    header.security = security !== 'none';
    const w = new ByteWriter(16 + body.length + 18);
    writeApsHeader(w, header);
    const hb = w.finish();
    if (security === 'none') return concat(hb, body);
    const aux: AuxSecurityHeader = {
      level: 0, keyId: security.keyId, extendedNonce: true, requireVerifiedFrameCounter: false,
      frameCounter: this.nvm.apsFrameCounter >>> 0, source64: this.ctx.eui64,
    };
    this.nvm.apsFrameCounter = (this.nvm.apsFrameCounter + 1) >>> 0;
    return concat(hb, secureLayer({ header: hb, aux, payload: body, key: security.key.ccm(security.keyId) }));
  }

  /** A complete APS command frame (the inner frame of a Tunnel is built with this). No ack request. */
  buildCommand(command: ApsCommand, security: ApsSecurity, broadcast = false): Uint8Array {
    const header: ApsHeader = {
      frameType: ApsFrameType.COMMAND, deliveryMode: broadcast ? ApsDeliveryMode.BROADCAST : ApsDeliveryMode.UNICAST,
      ackFormat: false, security: false, ackRequest: false, counter: this.nextCounter(),
    };
    return this.build(header, encodeApsCommand(command), security);
  }

  /**
   * Sends an APS command. Commands go without APS ack request (as in the NET2 capture of a Z3 join,
   * protocol.md §2.4): the procedures that use them (BDB key exchange) retry at their own level.
   */
  sendCommand(req: ApsCommandRequest): Promise<NwkTxStatus> {
    const frame = this.buildCommand(req.command, req.security, isBroadcast(req.dst16));
    this.ctx.trace('aps.tx', { cmd: req.command.type, dst16: req.dst16, keyId: req.security === 'none' ? 'none' : req.security.keyId, key: req.security === 'none' ? undefined : req.security.key.label, nwkSecured: req.nwkSecurity });
    return this.nwk.send({ dst16: req.dst16, frameType: 'data', payload: frame, security: req.nwkSecurity, dst64: req.dst64, via: req.via, radius: req.radius });
  }

  /** Sends an already built APS frame (a Tunnel's inner frame forwarded by a parent). */
  sendRaw(dst16: number, frame: Uint8Array, nwkSecurity: boolean, via?: NwkHop): Promise<NwkTxStatus> {
    return this.nwk.send({ dst16, frameType: 'data', payload: frame, security: nwkSecurity, via });
  }

  /** APS data request with acks and retries. @spec Zigbee 05-3474 §2.2.4.1.1 (APSDE-DATA.request) */
  async sendData(req: ApsDataRequest): Promise<ApsSendResult> {
    if (!this.net.authenticated) return { ok: false, reason: 'not-joined' };
    const dst16 = 'short' in req.dst ? req.dst.short : this.addresses.short(req.dst.eui64);
    if (dst16 === undefined) return { ok: false, reason: 'no-route' };
    const dstEui = 'eui64' in req.dst ? req.dst.eui64 : dst16 === 0 ? this.net.tcEui64 ?? this.addresses.eui64(0) : this.addresses.eui64(dst16);
    const broadcast = isBroadcast(dst16);
    let security: ApsSecurity = 'none';
    if (req.apsSecurity) {
      const entry = dstEui !== undefined ? this.keys.get(dstEui) ?? (dstEui === this.net.tcEui64 ? this.keys.fallback : undefined) : undefined;
      if (!entry || broadcast) return { ok: false, reason: 'no-key' };
      security = { keyId: KeyId.data, key: entry.material };
    }
    const ackRequest = !broadcast && (req.ackRequest ?? true);
    const counter = this.nextCounter();
    const header: ApsHeader = {
      frameType: ApsFrameType.DATA, deliveryMode: broadcast ? ApsDeliveryMode.BROADCAST : ApsDeliveryMode.UNICAST,
      ackFormat: false, security: false, ackRequest, dstEndpoint: req.dstEndpoint, clusterId: req.clusterId,
      profileId: req.profileId, srcEndpoint: req.srcEndpoint, counter,
    };
    const waitMs = this.addresses.isSleepy(dst16) ? APS_ACK_WAIT_SLEEPY_MS : APS_ACK_WAIT_MS;
    for (let attempt = 0; attempt <= (ackRequest ? APS_MAX_FRAME_RETRIES : 0); attempt++) {
      // Each retry is secured afresh (new APS frame counter, same APS counter): the receiver's
      // counter check passes and its duplicate table drops the copy it already has.
      const frame = this.build({ ...header }, req.payload, security);
      const ack = ackRequest ? this.acks.wait(this.ctx.clock, waitMs, (a) => (a.src16 === dst16 && a.counter === counter ? true : undefined)) : undefined;
      const st = await this.nwk.send({ dst16, frameType: 'data', payload: frame, security: true });
      if (st === 'too-long') {
        ack?.cancel();
        // APSDE-DATA.confirm ASDU_TOO_LONG (0xA0); ApsSendResult has no such reason, so it is an error to the caller.
        throw new RangeError(`${this.ctx.name}: APS payload of ${req.payload.length} bytes does not fit one frame (APS status 0xA0 ASDU_TOO_LONG; no fragmentation)`);
      }
      if (!ack) return st === 'success' ? { ok: true } : { ok: false, reason: st === 'no-route' ? 'no-route' : st === 'no-key' ? 'not-joined' : 'no-ack' };
      if (st === 'no-route' || st === 'no-key') {
        ack.cancel();
        return { ok: false, reason: st === 'no-route' ? 'no-route' : 'not-joined' };
      }
      if (await ack.promise) return { ok: true };
    }
    this.ctx.trace('aps.no-ack', { dst16, cluster: req.clusterId, counter });
    return { ok: false, reason: 'no-ack' };
  }

  // ---------------------------------------------------------------------------------------------
  // Receive

  private onNwkData(ind: NwkIndication): void {
    const bytes = ind.payload;
    let header: ApsHeader;
    let offset: number;
    try {
      const h = decodeApsHeader(bytes);
      header = h.value;
      offset = h.offset;
    } catch {
      this.ctx.trace('aps.drop', { reason: 'malformed', src16: ind.header.src16 });
      return;
    }
    const srcShort = ind.header.src16!;
    let srcEui = ind.header.src64 ?? this.addresses.eui64(srcShort);
    let body: Uint8Array;
    let entry: LinkKeyEntry | undefined;
    let usedCandidate = false;
    let keyId: number | undefined;
    if (header.security) {
      const opened = this.open(bytes, offset, header, ind, srcEui);
      if (!opened) return;
      ({ body, entry, usedCandidate, keyId } = opened);
      srcEui = opened.sender ?? srcEui;
    } else {
      body = bytes.subarray(offset);
    }
    const apsSecured = header.security;
    switch (header.frameType) {
      case ApsFrameType.ACK:
        this.acks.emit({ src16: srcShort, counter: header.counter! });
        return;
      case ApsFrameType.DATA: {
        if (header.ackRequest && !ind.broadcast) {
          this.sendAck(header, srcShort, apsSecured && keyId === KeyId.data ? (usedCandidate ? entry!.candidate! : entry!.material) : undefined);
          if (this.isDuplicate(srcShort, header.counter!)) return;
        }
        this.onDataIndication({
          srcShort, srcEui64: srcEui, srcEndpoint: header.srcEndpoint!, dstEndpoint: header.dstEndpoint!, clusterId: header.clusterId!,
          profileId: header.profileId!, payload: body, apsSecured, apsKeyLabel: apsSecured ? (usedCandidate ? entry!.candidate!.label : entry!.material.label) : undefined,
          nwkSecured: ind.secured, broadcast: ind.broadcast,
        });
        return;
      }
      case ApsFrameType.COMMAND: {
        if (header.ackRequest && !ind.broadcast) {
          this.sendAck(header, srcShort, apsSecured && keyId === KeyId.data ? entry!.material : undefined);
          if (this.isDuplicate(srcShort, header.counter!)) return;
        }
        let command: ApsCommand;
        try {
          command = decodeApsCommand(body).value;
        } catch {
          this.ctx.trace('aps.drop', { reason: 'malformed command', src16: srcShort });
          return;
        }
        this.commands.emit({ command, raw: body, srcShort, srcEui64: srcEui, apsSecured, keyId, key: entry, usedCandidate, nwkSecured: ind.secured, broadcast: ind.broadcast });
        return;
      }
      default:
        return;
    }
  }

  /** Opens a secured APS frame with the partner's key (then its candidate); checks the counter of unique keys. */
  private open(bytes: Uint8Array, offset: number, header: ApsHeader, ind: NwkIndication, srcEui: Eui64 | undefined):
    { body: Uint8Array; entry: LinkKeyEntry; usedCandidate: boolean; keyId: number; sender: Eui64 | undefined } | undefined {
    const srcShort = ind.header.src16!;
    let aux: ReturnType<typeof decodeAuxSecurityHeader>;
    try {
      aux = decodeAuxSecurityHeader(bytes, offset, 0, 'aps');
    } catch {
      this.ctx.trace('aps.drop', { reason: 'malformed aux header', src16: srcShort });
      return undefined;
    }
    const keyId = aux.value.keyId;
    const sender = aux.value.source64 ?? srcEui;
    const entry = this.keys.resolve(sender);
    const fail = (tried: string | undefined, reason: string) => {
      this.ctx.trace('aps.drop', { reason, src16: srcShort, from: sender, keyId, tried });
      this.securityFailures.emit({ srcShort, sender, keyId, tried, frameType: header.frameType });
      return undefined;
    };
    if (keyId === KeyId.network) return fail(undefined, 'network key at APS not supported');
    if (!entry) return fail(undefined, 'no link key for sender');
    const hb = bytes.subarray(0, offset);
    const auxBytes = bytes.subarray(offset, aux.offset);
    const sealed = bytes.subarray(aux.offset);
    const sourceArg = aux.value.extendedNonce ? undefined : sender;
    let r = unsecureLayer({ header: hb, auxBytes, body: sealed, key: entry.material.ccm(keyId), source64: sourceArg });
    let usedCandidate = false;
    if (!r.ok && entry.candidate) {
      r = unsecureLayer({ header: hb, auxBytes, body: sealed, key: entry.candidate.ccm(keyId), source64: sourceArg });
      usedCandidate = r.ok;
    }
    if (!r.ok) return fail(entry.material.label, r.reason === 'mic-mismatch' ? 'APS MIC mismatch' : r.reason);
    const counter = aux.value.frameCounter;
    if (entry.unique && !usedCandidate) {
      if (entry.lastIncoming !== undefined && counter <= entry.lastIncoming) {
        this.ctx.trace('aps.drop', { reason: 'replay', src16: srcShort, from: sender, counter, lastAccepted: entry.lastIncoming });
        return undefined;
      }
      entry.lastIncoming = counter;
    }
    return { body: r.plaintext, entry, usedCandidate, keyId, sender };
  }

  /** Ack, secured with the data key when the frame it acknowledges was. @spec Zigbee 05-3474 §2.2.8.4.2 */
  private sendAck(original: ApsHeader, dst16: number, key: KeyMaterial | undefined): void {
    const commandAck = original.frameType === ApsFrameType.COMMAND;
    const header: ApsHeader = commandAck
      ? { frameType: ApsFrameType.ACK, deliveryMode: ApsDeliveryMode.UNICAST, ackFormat: true, security: false, ackRequest: false, counter: original.counter }
      : {
        frameType: ApsFrameType.ACK, deliveryMode: ApsDeliveryMode.UNICAST, ackFormat: false, security: false, ackRequest: false,
        dstEndpoint: original.srcEndpoint, clusterId: original.clusterId, profileId: original.profileId, srcEndpoint: original.dstEndpoint, counter: original.counter,
      };
    const frame = this.build(header, new Uint8Array(0), key ? { keyId: KeyId.data, key } : 'none');
    void this.nwk.send({ dst16, frameType: 'data', payload: frame, security: true });
  }

  /**
   * Forgets the duplicate-rejection table. Off the network no later frame is a copy of one taken
   * before; kept, a TC re-formed as a fresh node (its APS counter starting where the last one's
   * did) would have its first answers dropped as duplicates for up to DUPLICATE_HOLD_MS.
   */
  forgetDuplicates(): void {
    this.recent.clear();
  }

  private isDuplicate(src16: number, counter: number): boolean {
    const now = this.ctx.clock.now();
    const k = (src16 << 8) | counter;
    const seen = this.recent.get(k);
    if (seen !== undefined && now - seen < DUPLICATE_HOLD_MS) return true;
    if (this.recent.size > 256) for (const [key, t] of this.recent) if (now - t >= DUPLICATE_HOLD_MS) this.recent.delete(key);
    this.recent.set(k, now);
    return false;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
