// Checks shared by the codec tests: decoders either return or throw a DecodeError of the right
// layer at an offset inside the input, and decoded values compare with the vectors' JSON.
import { bytesToHex } from '../../harness/crypto/bytes.ts';
import { DecodeError, type Layer } from '../../harness/zigbee/codec.ts';

/** Decoded value with byte fields as hex, for comparing with a vector's JSON `expect`. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return bytesToHex(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Runs a decoder on arbitrary bytes: it returns, or throws a DecodeError of `layer` inside lo..hi. */
export function decodeOrDecodeError<T>(fn: () => T, layer: Layer, lo: number, hi: number): T | DecodeError {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`non-DecodeError thrown: ${String(e)}`);
    if (e.layer !== layer) throw new Error(`DecodeError with layer ${e.layer}, expected ${layer}: ${e.message}`);
    if (e.offset < lo || e.offset > hi) throw new Error(`DecodeError offset ${e.offset} outside ${lo}..${hi}: ${e.message}`);
    return e;
  }
}

/** The DecodeError `fn` throws (fails the test if it throws nothing or something else). */
export function thrown(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError');
}
