// Short address ↔ EUI-64, learned from NWK headers, Device_annce, association and Update
// Device, plus whether a node keeps its receiver on (from its capability), which sets how long
// an APS sender waits for its ack.
import type { Eui64 } from '../zigbee/codec.ts';

export class AddressMap {
  private readonly toEui = new Map<number, Eui64>();
  private readonly toShort = new Map<Eui64, number>();
  private readonly sleepy = new Set<Eui64>();

  set(short: number, eui64: Eui64): void {
    const old = this.toShort.get(eui64);
    if (old !== undefined && old !== short && this.toEui.get(old) === eui64) this.toEui.delete(old);
    this.toEui.set(short, eui64);
    this.toShort.set(eui64, short);
  }

  eui64(short: number): Eui64 | undefined {
    return this.toEui.get(short);
  }

  short(eui64: Eui64): number | undefined {
    return this.toShort.get(eui64);
  }

  setRxOnWhenIdle(eui64: Eui64, rxOn: boolean): void {
    if (rxOn) this.sleepy.delete(eui64);
    else this.sleepy.add(eui64);
  }

  isSleepy(short: number): boolean {
    const e = this.toEui.get(short);
    return e !== undefined && this.sleepy.has(e);
  }

  forget(eui64: Eui64): void {
    const s = this.toShort.get(eui64);
    if (s !== undefined && this.toEui.get(s) === eui64) this.toEui.delete(s);
    this.toShort.delete(eui64);
    this.sleepy.delete(eui64);
  }

  clear(): void {
    this.toEui.clear();
    this.toShort.clear();
    this.sleepy.clear();
  }
}
