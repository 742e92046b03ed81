// Key material as the node uses it: the 16 key bytes, a label for transcripts, and — derived
// once, on first use — the CCM* instance for each APS/NWK key id and the Verify Key hash.
// A frame never derives a key or expands an AES schedule: that is four AES blocks per
// derivation plus a key expansion, paid once per key instead of once per frame.
import { createCcmStar, type CcmStar } from '../crypto/ccm-star.ts';
import { abytes, equalBytes, hexToBytes } from '../crypto/bytes.ts';
import { deriveVerifyKeyHash } from '../crypto/hmac-mmo.ts';
import { WELL_KNOWN_LINK_KEYS } from '../zigbee/keyring.ts';
import { KeyId, keyForKeyId } from '../zigbee/security.ts';

export class KeyMaterial {
  private readonly ccms: (CcmStar | undefined)[] = [undefined, undefined, undefined, undefined];
  private hash: Uint8Array | undefined;
  readonly key: Uint8Array;

  /** `label` names the key in transcripts and diagnoses (never the bytes). */
  constructor(key: Uint8Array, readonly label: string) {
    this.key = abytes(key, 16, 'key').slice();
  }

  /**
   * CCM* bound to the key CCM* runs with for `keyId`: 0 data / 1 network → the key itself,
   * 2 key-transport → HMAC-MMO(key, 0x00), 3 key-load → HMAC-MMO(key, 0x02).
   * @spec Zigbee 05-3474 §4.5.3; protocol.md §2.4
   */
  ccm(keyId: number): CcmStar {
    let c = this.ccms[keyId];
    if (!c) {
      if (keyId === KeyId.network) c = this.ccms[KeyId.data];
      c ??= createCcmStar(keyForKeyId(keyId, this.key));
      this.ccms[keyId] = c;
      if (keyId === KeyId.data) this.ccms[KeyId.network] = c;
    }
    return c;
  }

  /** HMAC-MMO(key, 0x03): what Verify Key carries. @spec Zigbee 05-3474 §4.4.7 (R21); protocol.md §4.1 step 5 */
  get verifyHash(): Uint8Array {
    return (this.hash ??= deriveVerifyKeyHash(this.key));
  }

  sameKey(other: KeyMaterial | Uint8Array | undefined): boolean {
    if (!other) return false;
    return equalBytes(this.key, other instanceof KeyMaterial ? other.key : other);
  }
}

/** "ZigBeeAlliance09", the default global TC link key. @spec Zigbee 05-3474 §4.6.3.2.2.1; protocol.md §8 */
export const WELL_KNOWN_TC_LINK_KEY_LABEL = 'ZigBeeAlliance09';

/** A fresh KeyMaterial for the well-known key (per node: no shared mutable caches between nodes). */
export function wellKnownTcLinkKey(): KeyMaterial {
  const hex = WELL_KNOWN_LINK_KEYS.find((k) => k.label === WELL_KNOWN_TC_LINK_KEY_LABEL)!.hex;
  return new KeyMaterial(hexToBytes(hex), WELL_KNOWN_TC_LINK_KEY_LABEL);
}

export function isWellKnownKey(k: KeyMaterial | Uint8Array): boolean {
  const bytes = k instanceof KeyMaterial ? k.key : k;
  return WELL_KNOWN_LINK_KEYS.some((w) => equalBytes(hexToBytes(w.hex), bytes));
}
