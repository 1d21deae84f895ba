/**
 * Veil's DIMSE side, both halves on its own PS3.8 upper layer (upperLayer.ts): the C-STORE SCP
 * that receives (scp.ts) and the C-STORE / C-ECHO SCU that forwards (scu.ts).
 */
export { HEADER_ROOM, isReadableTransferSyntax, isStorageSopClass, startScp, STATUS, type ReceivedInstance, type ScpHandlers, type StoreOutcome } from './scp.js';
export { echo, sendInstances, type Destination, type OutgoingInstance } from './scu.js';
