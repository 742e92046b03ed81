import { describe, expect, it } from 'vitest';
import { hexToBytes, bytesToHex } from '../../harness/crypto/bytes.ts';
import { Keyring } from '../../harness/zigbee/keyring.ts';

const k = (b: number) => new Uint8Array(16).fill(b);

describe('Keyring', () => {
  it('holds the well-known keys and derives ZigBeeAlliance09 key-transport/key-load keys (zigbee-on-host test/data.ts)', () => {
    const ring = new Keyring();
    const za09 = ring.all.find((e) => e.label === 'ZigBeeAlliance09')!;
    expect(bytesToHex(za09.key)).toBe('5a6967426565416c6c69616e63653039');
    expect(bytesToHex(ring.derived(za09).transport)).toBe('4bab0f173e1434a2d572e1c1ef478782');
    expect(bytesToHex(ring.derived(za09).load)).toBe('c5a47035c332ccbf251571d8baded188');
  });
  it('orders network keys: remembered winner, same seq, then the rest; explicit before learned (newest first)', () => {
    const ring = new Keyring({ wellKnown: false });
    const a = ring.addNetworkKey(k(1), { seq: 0 });
    const b = ring.addNetworkKey(k(2), { seq: 1, origin: 'learned' });
    const c = ring.addNetworkKey(k(3), { seq: 1, origin: 'learned' });
    expect(ring.networkCandidates(1)).toEqual([c, b, a]);
    expect(ring.networkCandidates(0)).toEqual([a, c, b]);
    ring.noteWinner(b, { seq: 1 });
    expect(ring.networkCandidates(1)[0]).toBe(b);
  });
  it('orders link keys: keys bound to the parties, then unbound ones, then keys of other devices', () => {
    const ring = new Keyring();
    const other = ring.addLinkKey(k(9), { eui64: '0000000000000009', origin: 'install-code' });
    const mine = ring.addLinkKey(k(7), { eui64: '0000000000000007', origin: 'install-code' });
    const list = ring.linkCandidates(['0000000000000007', undefined]);
    expect(list[0]).toBe(mine);
    expect(list[1].label).toBe('ZigBeeAlliance09');
    expect(list.at(-1)).toBe(other);
  });
  it('does not store the same key twice and refuses a key of the wrong length', () => {
    const ring = new Keyring({ wellKnown: false });
    const first = ring.addNetworkKey(hexToBytes('01030507090b0d0f00020406080a0c0d'), { seq: 0 });
    expect(ring.addNetworkKey(hexToBytes('01030507090b0d0f00020406080a0c0d'), { seq: 0, origin: 'learned' })).toBe(first);
    expect(() => ring.addLinkKey(new Uint8Array(15), { label: 'short' })).toThrow('"key short" expected Uint8Array of length 16, got length=15');
  });
});
