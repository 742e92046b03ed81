// CBKE on crypto suite 2 (sect283k1, 74-byte certificates), judged from the air.
// Case bodies: suites/cbke-common.ts; IDs, titles, spec references: suites/catalog.ts (CB2-*).
import { defineCbkeCases } from '../cbke-common.ts';

defineCbkeCases(2);
