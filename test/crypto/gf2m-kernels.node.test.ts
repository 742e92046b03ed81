import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// gf2m-kernels.ts is generated and committed (the unrolled code is what makes the field fast);
// this keeps it identical to what its generator prints today.
describe('generated GF(2^m) kernels', () => {
  it('match the output of harness/crypto/gf2m-kernels.gen.ts (regenerate: npx tsx harness/crypto/gf2m-kernels.gen.ts > harness/crypto/gf2m-kernels.ts)', () => {
    const generated = execFileSync(process.execPath, ['--import', 'tsx', 'harness/crypto/gf2m-kernels.gen.ts'], { encoding: 'utf8' });
    expect(readFileSync('harness/crypto/gf2m-kernels.ts', 'utf8').trimEnd()).toBe(generated.trimEnd());
  });
});
