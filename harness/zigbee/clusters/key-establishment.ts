// Key Establishment cluster 0x0800 (Smart Energy profile 0x0109): the CBKE messages as they travel
// in the ZCL payload. Certificates, points and MACs are kept as bytes; harness/crypto parses and
// checks them. The payload sizes depend on the crypto suite: Initiate carries its suite, Ephemeral
// Data tells it by its length (22 or 37), otherwise the caller passes the suite it negotiated.
import { ByteReader, ByteWriter, invert } from '../codec.ts';
import type { ZclDirection } from '../zcl.ts';

export const KEY_ESTABLISHMENT_CLUSTER = 0x0800;
export const SE_PROFILE_ID = 0x0109;

/** Attribute 0x0000 (server and client), enum16 used as a bitmap of suites. @spec SE 1.4 Annex C.3.1 (crypto.md §4.7, protocol.md §6.2) */
export const KeyEstablishmentAttribute = { KEY_ESTABLISHMENT_SUITE: 0x0000 } as const;

/**
 * KeyEstablishmentSuite bits (one bit per suite on the wire in Initiate / Terminate).
 * ```
 *  b15 … b2 reserved | b1 suite 2: CBKE-ECMQV sect283k1 | b0 suite 1: CBKE-ECMQV sect163k1
 * ```
 */
export const KeyEstablishmentSuite = { CBKE_K163: 0x0001, CBKE_K283: 0x0002 } as const;

/** Same ids in both directions: client→server "Request", server→client "Response". @spec SE 1.4 Annex C.3.1 */
export const KeyEstablishmentCommandId = {
  INITIATE_KEY_ESTABLISHMENT: 0x00,
  EPHEMERAL_DATA: 0x01,
  CONFIRM_KEY_DATA: 0x02,
  TERMINATE_KEY_ESTABLISHMENT: 0x03,
} as const;

/** Terminate Key Establishment status. @spec SE 1.4 Annex C.3.1 (protocol.md §6.2; WS packet-zbee-zcl-se.c; ZBOSS zb_se_kec.h) */
export const KeyEstablishmentStatus = {
  UNKNOWN_ISSUER: 0x01,
  BAD_KEY_CONFIRM: 0x02,
  BAD_MESSAGE: 0x03,
  NO_RESOURCES: 0x04,
  UNSUPPORTED_SUITE: 0x05,
  INVALID_CERTIFICATE: 0x06,
} as const;
export const KEY_ESTABLISHMENT_STATUS_NAMES = invert(KeyEstablishmentStatus);

/** Sizes per suite (Silicon Labs key-establishment.h; crypto.md §4.2/§4.7). */
export const KE_CERTIFICATE_BYTES: Readonly<Record<number, number>> = { [KeyEstablishmentSuite.CBKE_K163]: 48, [KeyEstablishmentSuite.CBKE_K283]: 74 };
export const KE_EPHEMERAL_BYTES: Readonly<Record<number, number>> = { [KeyEstablishmentSuite.CBKE_K163]: 22, [KeyEstablishmentSuite.CBKE_K283]: 37 };
export const KE_MAC_BYTES = 16;

export type KeyEstablishmentCommand =
  | {
      type: 'initiateKeyEstablishment';
      /** Exactly one suite bit from a compliant sender. */
      suite: number;
      /** Seconds, 0x00–0xFE. */
      ephemeralDataGenerateTime: number;
      confirmKeyGenerateTime: number;
      /** The sender's implicit certificate (48 B suite 1, 74 B suite 2; the rest of the payload for another suite value). */
      identity: Uint8Array;
      trailing?: Uint8Array;
    }
  | { type: 'ephemeralData'; /** QEU (request) or QEV (response), compressed point */ point: Uint8Array; trailing?: Uint8Array }
  | { type: 'confirmKeyData'; /** MACU (request) or MACV (response) */ mac: Uint8Array; trailing?: Uint8Array }
  | { type: 'terminateKeyEstablishment'; status: number; waitTime: number; suite: number; trailing?: Uint8Array }
  | { type: 'unknown'; commandId: number; raw: Uint8Array };

/** "Initiate Key Establishment Request" / "… Response" etc., by id and ZCL direction. */
export function keyEstablishmentCommandName(commandId: number, direction: ZclDirection): string {
  switch (commandId) {
    case KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT:
      return direction === 'client-to-server' ? 'Initiate Key Establishment Request' : 'Initiate Key Establishment Response';
    case KeyEstablishmentCommandId.EPHEMERAL_DATA:
      return direction === 'client-to-server' ? 'Ephemeral Data Request' : 'Ephemeral Data Response';
    case KeyEstablishmentCommandId.CONFIRM_KEY_DATA:
      return direction === 'client-to-server' ? 'Confirm Key Data Request' : 'Confirm Key Data Response';
    case KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT:
      return 'Terminate Key Establishment';
    default:
      return direction === 'client-to-server' ? 'Unknown Key Establishment Request' : 'Unknown Key Establishment Response';
  }
}

export interface KeyEstablishmentDecodeOptions {
  /** The negotiated suite, for Ephemeral Data whose length matches neither 22 nor 37 bytes. */
  suite?: number;
}

/**
 * Decodes the ZCL payload of a Key Establishment command (after the ZCL header).
 * @spec SE 1.4 Annex C.3.1 (client→server and server→client commands); crypto.md §4.7
 */
export function decodeKeyEstablishmentCommand(
  commandId: number,
  bytes: Uint8Array,
  offset = 0,
  base = 0,
  options: KeyEstablishmentDecodeOptions = {},
): { value: KeyEstablishmentCommand; offset: number } {
  const r = new ByteReader(bytes, 'zcl', offset, base);
  let value: Exclude<KeyEstablishmentCommand, { type: 'unknown' }>;
  switch (commandId) {
    case KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT: {
      const suite = r.u16('key establishment suite');
      const ephemeralDataGenerateTime = r.u8('ephemeral data generate time');
      const confirmKeyGenerateTime = r.u8('confirm key generate time');
      const certLength = KE_CERTIFICATE_BYTES[suite];
      const identity = certLength === undefined ? r.rest() : r.take(certLength, suite === 1 ? 'suite 1 certificate' : 'suite 2 certificate');
      value = { type: 'initiateKeyEstablishment', suite, ephemeralDataGenerateTime, confirmKeyGenerateTime, identity };
      break;
    }
    case KeyEstablishmentCommandId.EPHEMERAL_DATA: {
      let n = options.suite === undefined ? undefined : KE_EPHEMERAL_BYTES[options.suite];
      if (n === undefined) {
        const left = r.remaining;
        if (left === KE_EPHEMERAL_BYTES[1] || left === KE_EPHEMERAL_BYTES[2]) n = left;
        else return r.fail(`ephemeral data of ${left} bytes fits neither suite 1 (22) nor suite 2 (37); pass the negotiated suite`);
      }
      value = { type: 'ephemeralData', point: r.take(n, 'ephemeral data point') };
      break;
    }
    case KeyEstablishmentCommandId.CONFIRM_KEY_DATA:
      value = { type: 'confirmKeyData', mac: r.take(KE_MAC_BYTES, 'confirm key MAC') };
      break;
    case KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT:
      value = { type: 'terminateKeyEstablishment', status: r.u8('terminate status'), waitTime: r.u8('wait time'), suite: r.u16('key establishment suite') };
      break;
    default:
      return { value: { type: 'unknown', commandId, raw: r.rest() }, offset: r.offset };
  }
  if (r.remaining > 0) value.trailing = r.rest();
  return { value, offset: r.offset };
}

/** The command id a value is sent with. */
export function keyEstablishmentCommandId(c: KeyEstablishmentCommand): number {
  switch (c.type) {
    case 'initiateKeyEstablishment':
      return KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT;
    case 'ephemeralData':
      return KeyEstablishmentCommandId.EPHEMERAL_DATA;
    case 'confirmKeyData':
      return KeyEstablishmentCommandId.CONFIRM_KEY_DATA;
    case 'terminateKeyEstablishment':
      return KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT;
    case 'unknown':
      return c.commandId;
  }
}

/** Encodes the ZCL payload (without the ZCL header; see keyEstablishmentCommandId for its command id). */
export function encodeKeyEstablishmentCommand(c: KeyEstablishmentCommand): Uint8Array {
  const w = new ByteWriter(96);
  switch (c.type) {
    case 'initiateKeyEstablishment': {
      const certLength = KE_CERTIFICATE_BYTES[c.suite];
      if (certLength !== undefined && c.identity.length !== certLength) {
        throw new RangeError(`"identity" for suite ${c.suite} must be ${certLength} bytes, got ${c.identity.length}`);
      }
      if (certLength === undefined && c.trailing) throw new RangeError(`"trailing" cannot be told apart from the identity of unknown suite ${c.suite}`);
      w.u16(c.suite).u8(c.ephemeralDataGenerateTime).u8(c.confirmKeyGenerateTime).bytes(c.identity);
      break;
    }
    case 'ephemeralData':
      if (c.point.length !== 22 && c.point.length !== 37) throw new RangeError(`"point" must be 22 (suite 1) or 37 (suite 2) bytes, got ${c.point.length}`);
      w.bytes(c.point);
      break;
    case 'confirmKeyData':
      if (c.mac.length !== KE_MAC_BYTES) throw new RangeError(`"mac" must be 16 bytes, got ${c.mac.length}`);
      w.bytes(c.mac);
      break;
    case 'terminateKeyEstablishment':
      w.u8(c.status).u8(c.waitTime).u16(c.suite);
      break;
    case 'unknown':
      return w.bytes(c.raw).finish();
  }
  if (c.trailing) w.bytes(c.trailing);
  return w.finish();
}
