// Linked pseudo-terminal pairs made by socat, for serial drivers tested against firmware
// emulators over real ttys. The pairs themselves live in devices/pty.ts (`sehil emulate` uses
// them too); this helper adds what tests need. Tests that need socat use
//   describe.skipIf(!socatAvailable)(…)   and call warnIfSocatMissing() once.
// and close every pair in afterEach (closeAllPtyPairs() does it for pairs a test forgot).
import { hasSocat } from '../../devices/pty.ts';

export { openPtyPair, closeAllPtyPairs, type PtyPair } from '../../devices/pty.ts';

export const socatAvailable: boolean = hasSocat();
export const socatSkipReason = 'socat not found on PATH (apt-get install socat): pseudo-terminal driver tests skipped';

let warned = false;
export function warnIfSocatMissing(): void {
  if (!socatAvailable && !warned) {
    warned = true;
    console.warn(socatSkipReason);
  }
}
