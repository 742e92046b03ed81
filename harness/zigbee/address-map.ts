// NWK short address ↔ EUI-64, learned from what goes over the air, so that a frame secured
// without the extended nonce can still be opened: the CCM* nonce needs the sender's EUI-64 and
// such frames carry only its short address. Wireshark keeps the same map (packet-zbee-nwk.c
// "ieee_hints"/"nwk_hints", zbee_nwk_map). One map per dissector instance: no module state.
//
// Short addresses are unique per PAN; a sniffer capture is one PAN in practice, so the map is
// keyed by the short address alone and the newest binding wins (a rejoin with a new address, or
// an address conflict resolved on air, simply rebinds).
import { eui64ToAir, type Eui64 } from './codec.ts';

export interface AddressEntry {
  readonly eui64: Eui64;
  /** The same EUI-64 as 8 on-air (little-endian) bytes: what the nonce takes. */
  readonly air: Uint8Array;
  /** Frame that taught this binding (the latest one that changed it). */
  readonly frame: number;
}

/** Short addresses that name no single device: broadcasts (0xFFF8–0xFFFF) and "unassigned". */
function isUnicastShort(short: number): boolean {
  return short >= 0 && short < 0xfff8;
}

/** EUI-64s that name no device: all zeros (broadcast key update) and all ones (distributed security). */
function isDeviceEui(eui: Eui64): boolean {
  return eui !== '0000000000000000' && eui !== 'ffffffffffffffff';
}

export class AddressMap {
  private readonly byShort = new Map<number, AddressEntry>();

  /** Binds `short` to `eui64`; returns true when that changed the map. Cheap when nothing changes (no allocation). */
  note(short: number | undefined, eui64: Eui64 | undefined, frame: number): boolean {
    if (short === undefined || eui64 === undefined) return false;
    const old = this.byShort.get(short);
    if (old !== undefined && old.eui64 === eui64) return false; // the common case: nothing new
    if (!isUnicastShort(short) || !isDeviceEui(eui64)) return false;
    this.byShort.set(short, { eui64, air: eui64ToAir(eui64), frame });
    return true;
  }

  get(short: number | undefined): AddressEntry | undefined {
    return short === undefined ? undefined : this.byShort.get(short);
  }

  /** The EUI-64 of a short address, if known. */
  eui64Of(short: number | undefined): Eui64 | undefined {
    return this.get(short)?.eui64;
  }

  get size(): number {
    return this.byShort.size;
  }

  entries(): IterableIterator<[number, AddressEntry]> {
    return this.byShort.entries();
  }
}
