import type { Destination, OutgoingInstance } from './scu.js';

/**
 * C-ECHO and C-STORE as a peer (SCU), loaded at the first call rather than with this folder:
 * `veil dicom pull` (DICOMweb only) and a command refused for a bad option never load it.
 */
export async function echo(destination: Destination): Promise<boolean> {
  return (await import('./scu.js')).echo(destination);
}

export async function sendInstances(destination: Destination, instances: readonly OutgoingInstance[]): Promise<{ stored: number; failed: number }> {
  return (await import('./scu.js')).sendInstances(destination, instances);
}
