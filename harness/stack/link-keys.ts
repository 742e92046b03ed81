// The APS link-key table of a node: per partner (the TC on a joiner, each device on the TC)
// the key, where it came from, an unverified candidate during the Zigbee 3.0 exchange, and the
// incoming APS frame counter — checked only for unique keys. A joiner that does not yet know
// its Trust Center's EUI-64 uses its preconfigured key as the fallback for any partner.
// @spec Zigbee 05-3474 §4.4.1.2 (APS incoming frame counter, unique keys only); protocol.md §7.5
import type { LinkKeyOrigin } from './app.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { KeyMaterial } from './keys.ts';

export interface LinkKeyEntry {
  material: KeyMaterial;
  origin: LinkKeyOrigin;
  /** apsLinkKeyType unique (0x00) vs global (0x01): the well-known key is global. */
  unique: boolean;
  /** Last accepted APS frame counter from the partner (unique keys only). */
  lastIncoming?: number;
  /** A key received but not verified yet (TC link key exchange): tried after `material`. */
  candidate?: KeyMaterial;
}

export class LinkKeyTable {
  private readonly byEui = new Map<Eui64, LinkKeyEntry>();
  /** The preconfigured key of a joiner, used while the partner's EUI-64 is not known. */
  fallback: LinkKeyEntry | undefined;

  get(partner: Eui64): LinkKeyEntry | undefined {
    return this.byEui.get(partner);
  }

  /** The partner's entry, else the fallback. */
  resolve(partner: Eui64 | undefined): LinkKeyEntry | undefined {
    return (partner !== undefined ? this.byEui.get(partner) : undefined) ?? this.fallback;
  }

  /** Installs a key for `partner`; the incoming frame counter starts afresh with a new key. */
  set(partner: Eui64, key: KeyMaterial | Uint8Array, origin: LinkKeyOrigin): LinkKeyEntry {
    const material = key instanceof KeyMaterial ? key : new KeyMaterial(key, origin);
    const e: LinkKeyEntry = { material, origin, unique: origin !== 'well-known' };
    this.byEui.set(partner, e);
    return e;
  }

  delete(partner: Eui64): boolean {
    return this.byEui.delete(partner);
  }

  clear(): void {
    this.byEui.clear();
  }

  entries(): [Eui64, LinkKeyEntry][] {
    return [...this.byEui.entries()];
  }
}

export function fallbackEntry(material: KeyMaterial, origin: LinkKeyOrigin): LinkKeyEntry {
  return { material, origin, unique: origin !== 'well-known' };
}
