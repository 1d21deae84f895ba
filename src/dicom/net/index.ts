/** Veil's DICOM network side: a C-STORE listener that de-identifies and forwards (PS3.7/PS3.8: Veil's own SCP and forwarding SCU). */
export { allowedCallers, DEFAULT_BATCH_INSTANCES, DEFAULT_BATCH_WAIT_SECONDS, startListener, type Listener, type ListenEvent, type ListenOptions, type QuarantineCode, type ListenReport, type ListenTotals } from './listen.js';
export type { Destination, OutgoingInstance } from './dimse.js';
export { echo, sendInstances } from './peer.js';
export { parseAeTitle, parseCount, parseDestination, parsePort, parseSeconds } from './destination.js';
export { pullStudies, pulledStudies, retrieveStudies, selectStudies, storeStudy, studiesOfRun, studyFolder, type PullOptions, type PullReport, type PulledStudy } from './pull.js';
export { authFromEnv, DicomWebError, dicomWebServer, findStudies, retrieveStudy, storeInstances, type DicomWebAuth, type DicomWebServer } from './dicomweb.js';
