// NWK-layer security of one node: the network key (active and alternate, by key sequence
// number), the outgoing frame counter (in Nvm, so it survives reset) and the incoming frame
// counters per sender, with replay rejection.
// @spec Zigbee 05-3474 §4.3.1 (NWK frame security), §4.3.1.2 (incoming frame counter check);
// protocol.md §2.3–2.4 (aux header 0x28: key id 1, extended nonce), §7.5 (counters)
import type { Eui64 } from '../zigbee/codec.ts';
import { KeyId, secureLayer, unsecureLayer, type AuxSecurityHeader } from '../zigbee/security.ts';
import type { NodeContext, Nvm } from './context.ts';
import { KeyMaterial } from './keys.ts';

export interface NetworkKey {
  material: KeyMaterial;
  seq: number;
}

export type NwkOpenResult =
  | { ok: true; plaintext: Uint8Array; sender: Eui64; counter: number; keySeq: number }
  | { ok: false; reason: 'unknown-key-seq' | 'mic-mismatch' | 'replay' | 'no-source-address'; sender?: Eui64; counter: number; lastAccepted?: number; keySeq?: number };

export class NwkSecurity {
  active: NetworkKey | undefined;
  alternate: NetworkKey | undefined;
  /** Last accepted frame counter per sender (aux source), per key sequence number. */
  private readonly incoming = new Map<number, Map<Eui64, number>>();

  constructor(private readonly ctx: NodeContext, private readonly nvm: Nvm) {}

  setActive(key: Uint8Array | KeyMaterial, seq: number): void {
    this.active = { material: key instanceof KeyMaterial ? key : new KeyMaterial(key, `nwk#${seq}`), seq };
    if (this.alternate?.seq === seq) this.alternate = undefined;
  }

  setAlternate(key: Uint8Array, seq: number): void {
    this.alternate = { material: new KeyMaterial(key, `nwk#${seq}`), seq };
  }

  /**
   * Makes the alternate key (by `seq`) active; the outgoing counter restarts at 0 with the new
   * key (protocol.md §7.5, TP_R21_BV-13 step 21). Returns false when no such key is held.
   */
  switchTo(seq: number): boolean {
    if (this.active?.seq === seq) return true;
    if (this.alternate?.seq !== seq) return false;
    this.active = this.alternate;
    this.alternate = undefined;
    this.nvm.nwkFrameCounter = 0;
    for (const s of [...this.incoming.keys()]) if (s !== seq) this.incoming.delete(s);
    return true;
  }

  /** Forgets keys and incoming counters (leave, reset). The outgoing counter stays in Nvm. */
  clear(): void {
    this.active = undefined;
    this.alternate = undefined;
    this.incoming.clear();
  }

  /** Forgets what we know of a sender's counters (Ember: purged when a neighbour leaves; protocol.md §7.3 FAQ). */
  forgetSender(eui64: Eui64): void {
    for (const m of this.incoming.values()) m.delete(eui64);
  }

  /** The aux header ‖ ciphertext ‖ MIC that follow `header`, with the next outgoing frame counter. */
  secure(header: Uint8Array, payload: Uint8Array): Uint8Array {
    const k = this.active;
    if (!k) throw new Error(`${this.ctx.name}: no network key to secure a NWK frame`);
    const aux: AuxSecurityHeader = {
      level: 0, keyId: KeyId.network, extendedNonce: true, requireVerifiedFrameCounter: false,
      frameCounter: this.nextCounter(), source64: this.ctx.eui64, keySeq: k.seq,
    };
    return secureLayer({ header, aux, payload, key: k.material.ccm(KeyId.network) });
  }

  private nextCounter(): number {
    const c = this.nvm.nwkFrameCounter >>> 0;
    this.nvm.nwkFrameCounter = (c + 1) >>> 0;
    return c;
  }

  /**
   * Opens a secured NWK frame. Spec rule for the counter (protocol.md §7.5): drop when the
   * received counter is below the stored one, the stored one being last accepted + 1 — an equal
   * counter is a replay. The counter is recorded only after the MIC checks out.
   */
  open(header: Uint8Array, auxBytes: Uint8Array, aux: AuxSecurityHeader, body: Uint8Array): NwkOpenResult {
    const counter = aux.frameCounter;
    const sender = aux.source64;
    if (sender === undefined) return { ok: false, reason: 'no-source-address', counter };
    const seq = aux.keySeq ?? -1;
    const key = this.active?.seq === seq ? this.active : this.alternate?.seq === seq ? this.alternate : undefined;
    if (!key) return { ok: false, reason: 'unknown-key-seq', sender, counter, keySeq: seq };
    let table = this.incoming.get(seq);
    const last = table?.get(sender);
    if (last !== undefined && counter <= last) return { ok: false, reason: 'replay', sender, counter, lastAccepted: last, keySeq: seq };
    const r = unsecureLayer({ header, auxBytes, body, key: key.material.ccm(KeyId.network) });
    if (!r.ok) return { ok: false, reason: 'mic-mismatch', sender, counter, keySeq: seq };
    if (!table) this.incoming.set(seq, (table = new Map()));
    table.set(sender, counter);
    // A frame under the alternate key means the network switched: follow it (Zigbee 05-3474 §4.3.1.2 step 3).
    if (key === this.alternate) this.switchTo(seq);
    return { ok: true, plaintext: r.plaintext, sender, counter, keySeq: seq };
  }
}
