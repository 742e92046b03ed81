// Key Establishment cluster 0x0800 (Smart Energy profile 0x0109) as node applications: the server
// (CBKE responder, the Trust Center) and the client (CBKE initiator, the device). Both are ZCL
// clusters hosted on a ZclEndpoint, which is the ApsApplication a node runs:
//
//   const ke = new KeyEstablishmentServer({ credentials: [tcSuite1, tcSuite2], behaviour: tcProfile.behaviour.cbke, random });
//   const ep = new ZclEndpoint({ endpoint: 1, clusters: [ke, keepAliveServer] });   // the TC's SE endpoint
//   node.addApplication(ep); ep.attach(node.aps);
//
//   const kc = new KeyEstablishmentClient({ credentials, behaviour: joinerProfile.behaviour, control, random });
//   const dep = new ZclEndpoint({ endpoint: 1, clusters: [kc, keepAliveClient] });
//   const outcome = await kc.startKeyEstablishment();   // any time after join (dynamic activation)
//
// Outcomes: `outcomes` / `lastOutcome` (KeOutcome), event logs: `events` (KeEvent) and aps.trace('ke.*').
// @spec SE 1.4 (07-5356) Annex C.3.1 / C.4.2; protocol.md §6.2; crypto.md §4.7; ST guide §6.3, §6.4
export { KEY_ESTABLISHMENT_CLUSTER, SE_PROFILE_ID } from '../../zigbee/clusters/key-establishment.ts';
export { KeyEstablishmentClient, type KeClientOptions } from './ke-client.ts';
export { KeyEstablishmentServer, type KeServerOptions } from './ke-server.ts';
export {
  KE_TIMING, type KeCommonOptions, type KeCredential, type KeEvent, type KeFailure, type KeFailureReason, type KeOutcome, type KeRole,
  type KeStep, keyLabelFor,
} from './ke-common.ts';
