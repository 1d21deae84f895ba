import type { Destination, OutgoingInstance } from './dimse.js';

/**
 * C-ECHO and C-STORE as a peer (SCU), loading the DIMSE library (dcmjs-dimse, ~0.5 s) at the
 * first call rather than with this folder: `veil dicom pull` (DICOMweb only) and a command
 * refused for a bad option never pay for it.
 */
export async function echo(destination: Destination): Promise<boolean> {
  return (await import('./dimse.js')).echo(destination);
}

export async function sendInstances(destination: Destination, instances: readonly OutgoingInstance[]): Promise<{ stored: number; failed: number }> {
  return (await import('./dimse.js')).sendInstances(destination, instances);
}
