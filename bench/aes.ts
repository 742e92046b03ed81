// Benchmark group `aes`: the AES-128 block function and CCM* on a Zigbee-sized frame (the frame
// decoder's hot path) against node:crypto (OpenSSL in the same process).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createAes128 } from '../harness/crypto/aes.ts';
import { createCcmStar } from '../harness/crypto/ccm-star.ts';
import { medianMicros, ratio, type BenchCase } from './measure.ts';

const POOL = 64;
/** Blocks per bulk ECB update (64 KiB): OpenSSL's AES-NI throughput, the floor for any block count. */
const BULK_BLOCKS = 4096;

/** Sub-µs figures need more resolution than round1's 0.1 µs. */
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** One AES-128 block: ours (byte and word API) vs an OpenSSL ECB cipher object reused for the key. */
function aesBlockCase(): BenchCase {
  return {
    name: 'aes-block',
    async run() {
      const key = new Uint8Array(randomBytes(16));
      const blocks = Array.from({ length: POOL }, () => new Uint8Array(randomBytes(16)));
      const aes = createAes128(key);
      const out = new Uint8Array(16);
      const ours = medianMicros((i) => aes.encryptBlock(blocks[i % POOL], out));
      const words = blocks.map((b) => new Uint32Array(b.buffer, b.byteOffset, 4));
      const oursWords = medianMicros((i) => {
        const w = words[i % POOL];
        return aes.encryptWords(w[0], w[1], w[2], w[3]);
      });
      const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      const node = medianMicros((i) => cipher.update(blocks[i % POOL]));
      const bulk = new Uint8Array(randomBytes(16 * BULK_BLOCKS));
      const nodeBulk = medianMicros(() => cipher.update(bulk)) / BULK_BLOCKS;
      return {
        ours_us: round3(ours),
        ours_words_us: round3(oursWords),
        node_openssl_us: round3(node),
        node_openssl_bulk_us: round3(nodeBulk),
        ratio_node: ratio(ours, node),
        ratio_node_bulk: ratio(ours, nodeBulk),
        node_note: `node_openssl_us: one 16-byte update on a reused aes-128-ecb cipher; bulk: ${BULK_BLOCKS}-block updates, per block`,
      };
    },
  };
}

/**
 * One NWK-sized CCM* decryption at Zigbee PRO level 5 (ENC-MIC-32): a = 22 bytes (NWK header +
 * auxiliary header), 40 bytes of ciphertext + 4-byte MIC — 10 AES blocks. OpenSSL needs a new
 * decipher per frame (the nonce changes with the frame counter).
 */
function ccmDecryptCase(): BenchCase {
  const A_LENGTH = 22;
  const M_LENGTH = 40;
  const MIC = 4;
  return {
    name: 'ccm-star-decrypt-40B',
    async run() {
      const key = new Uint8Array(randomBytes(16));
      const frames = Array.from({ length: POOL }, () => {
        const nonce = new Uint8Array(randomBytes(13));
        const a = new Uint8Array(randomBytes(A_LENGTH));
        const m = randomBytes(M_LENGTH);
        const cipher = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: MIC });
        cipher.setAAD(a, { plaintextLength: M_LENGTH });
        const c = Buffer.concat([cipher.update(m), cipher.final()]);
        const tag = cipher.getAuthTag();
        return { nonce, a, c, tag, cAndU: new Uint8Array(Buffer.concat([c, tag])) };
      });
      const ccm = createCcmStar(key);
      for (const f of frames) if (!ccm.decrypt(f.nonce, f.a, f.cAndU, MIC).ok) throw new Error('bench frame did not authenticate');
      const ours = medianMicros((i) => {
        const f = frames[i % POOL];
        return ccm.decrypt(f.nonce, f.a, f.cAndU, MIC);
      });
      const node = medianMicros((i) => {
        const f = frames[i % POOL];
        const d = createDecipheriv('aes-128-ccm', key, f.nonce, { authTagLength: MIC });
        d.setAuthTag(f.tag);
        d.setAAD(f.a, { plaintextLength: M_LENGTH });
        const p = d.update(f.c);
        d.final();
        return p;
      });
      return {
        ours_us: round3(ours),
        node_openssl_us: round3(node),
        ratio_node: ratio(ours, node),
        ours_frames_per_s: Math.round(1e6 / ours),
        sizes: { a: A_LENGTH, c: M_LENGTH, mic: MIC, aes_blocks: 10 },
      };
    },
  };
}

export function aesCases(): readonly BenchCase[] {
  return [aesBlockCase(), ccmDecryptCase()];
}
