// Weak install codes. The NESCOR guide for SEP 1.x (shared/sources/nescor-sep1x-security-whitepaper.txt)
// recommends codes with enough entropy: a 48-bit code can be searched from a sniffed Transport
// Key, and patterned codes (one byte repeated, counting sequences, a short block repeated) are
// guessable. Pure judgement over the parsed code; no radio involved.
import { parseInstallCode } from '../../harness/crypto/install-code.ts';

export function weakInstallCodeFindings(text: string): string[] {
  const { code } = parseInstallCode(text);
  const out: string[] = [];
  if (code.length <= 6) out.push(`${code.length * 8}-bit code: too short to resist a search from one sniffed Transport Key (use 128 bits)`);
  if (code.every((b) => b === code[0])) out.push(`every byte is 0x${code[0].toString(16).padStart(2, '0')}`);
  const step = (code[1] - code[0]) & 0xff;
  if ((step === 1 || step === 0xff) && code.every((b, i) => i === 0 || ((b - code[i - 1]) & 0xff) === step)) out.push('a counting sequence');
  for (const block of [2, 4]) {
    if (code.length > block && code.length % block === 0 && code.every((b, i) => b === code[i % block])) {
      out.push(`a ${block}-byte block repeated`);
      break;
    }
  }
  return out;
}
