// CBKE on crypto suite 1 (sect163k1, 48-byte certificates), judged from the air.
// Case bodies: suites/cbke-common.ts; IDs, titles, spec references: suites/catalog.ts (CB1-*).
import { defineCbkeCases } from '../cbke-common.ts';

defineCbkeCases(1);
