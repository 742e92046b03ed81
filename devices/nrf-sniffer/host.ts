// What a serial driver needs from the host around the device: words for an open that failed,
// and the rig's power-cycle command run with a deadline (radios.md §7.1 uhubctl, §7.4 step 4).
import { spawn } from 'node:child_process';
import { DeviceTimeoutError } from '../../harness/rig/roles.ts';
import type { Clock } from '../../harness/sim/clock.ts';

/** What an open failure means for the person at the bench. */
export function explainOpenError(e: Error): string {
  const m = e.message;
  if (/ENOENT|No such file/i.test(m)) return `${m}: not plugged in, or another path (run \`sehil devices\`)`;
  if (/EACCES|Permission denied/i.test(m)) return `${m}: no permission (add the user to the dialout group)`;
  if (/lock|EBUSY/i.test(m)) return `${m}: in use by another program (Wireshark's nRF extcap?)`;
  return m;
}

/** Runs the rig's power-cycle command with a deadline; kills its process group when late. */
export function runShell(command: string, ms: number, timers: Clock, role = 'sniffer'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
    const cancel = timers.setTimer(ms, () => {
      try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      reject(new DeviceTimeoutError(role, 'power cycle', `exit of "${command}"`, ms));
    });
    child.on('error', (e) => { cancel(); reject(e); });
    child.on('exit', (code) => {
      cancel();
      if (code === 0) resolve();
      else reject(new Error(`"${command}" exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}
