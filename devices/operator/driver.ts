// The `operator` driver: a DUT with no control channel (a meter on the bench, a sealed product).
// Every operation becomes a prompt to the person at the rig ("put the DUT into joining mode
// now"); the verdicts still come from the air. CI has no operator: prompts fail at their
// deadline, saying so (harness/run/prompts.ts).
import { askOperator } from '../../harness/run/prompts.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import type { DeviceInfo, JoinOptions, JoinResult, Joiner, RejoinOptions } from '../../harness/rig/roles.ts';
import type { Eui64 } from '../../harness/zigbee/codec.ts';

export class OperatorJoiner implements Joiner {
  readonly role = 'dut' as const;
  readonly capabilities: ReadonlySet<Capability>;
  private readonly lines: string[] = [];

  constructor(readonly eui64: Eui64, private readonly timeoutS: number, declared: readonly Capability[] = []) {
    this.capabilities = new Set(declared);
  }

  private async ask(step: string, text: string): Promise<string> {
    this.lines.push(`prompt (${step}): ${text}`);
    const answer = await askOperator({ role: 'dut', step, text, timeoutS: this.timeoutS });
    this.lines.push(`operator: ${answer === '' ? '(Enter)' : answer}`);
    return answer;
  }

  /** 'n' or 'no' means it did not work; anything else (Enter) that it did. */
  private static confirmed(answer: string): boolean {
    return !/^n(o)?$/i.test(answer.trim());
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async probe(): Promise<DeviceInfo> {
    return { driver: 'operator', location: 'operator at the bench', eui64: this.eui64, notes: [`prompts time out after ${this.timeoutS} s`] };
  }
  takeTranscript(): string[] {
    return this.lines.splice(0);
  }

  async reset(): Promise<void> {
    await this.ask('reset', `Factory-reset the DUT ${this.eui64} (power-cycle it if that is how it resets)`);
  }
  async join(opts: JoinOptions = {}): Promise<JoinResult> {
    const a = await this.ask('join', `Start joining on the DUT ${this.eui64} now${opts.channel ? ` (channel ${opts.channel})` : ''}, and wait until it shows it has joined`);
    return OperatorJoiner.confirmed(a) ? { joined: true } : { joined: false, reason: `the operator reported that the DUT did not join ("${a}")` };
  }
  async leave(): Promise<void> {
    await this.ask('leave', `Make the DUT ${this.eui64} leave the network`);
  }
  async rejoin(opts: RejoinOptions): Promise<JoinResult> {
    const a = await this.ask('rejoin', `Make the DUT ${this.eui64} rejoin (${opts.secured ? 'secured' : 'Trust Center'} rejoin), and wait until it is back`);
    return OperatorJoiner.confirmed(a) ? { joined: true } : { joined: false, reason: `the operator reported that the DUT did not rejoin ("${a}")` };
  }
}
