// The shape of a conformance test case in the catalog (suites/catalog.ts).
import type { Capability } from '../harness/rig/capabilities.ts';

export interface SpecRef {
  /** e.g. "Zigbee PRO 05-3474-23 §4.6.3.4", "SE 1.4 07-5356-21 §C.4.2", "BDB 16-02828 §10.2.1". */
  ref: string;
  /** Where the clause or the source document can be read, when public. */
  url?: string;
}

export interface CatalogCase {
  id: string;
  title: string;
  suite: string;
  /** Roles the case drives. */
  roles: readonly ('tc' | 'dut' | 'sniffer')[];
  needs: { dut?: readonly Capability[]; tc?: readonly Capability[] };
  spec: readonly SpecRef[];
  /** Known-bad simulated profiles this case must fail on (`sehil selftest` proves it). */
  catches: readonly { role: 'tc' | 'dut'; profile: string }[];
  /** Checks that only make sense on the simulated rig (they reconfigure the simulated DUT). */
  simOnly?: boolean;
}
