import type { Command } from 'commander';

/** Registers the `veil dicom` commands (placeholder until its issue lands). */
export function registerDicomCommands(_program: Command): void {}
