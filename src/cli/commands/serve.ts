import type { Command } from 'commander';

/** Registers the `veil serve` commands (placeholder until its issue lands). */
export function registerServeCommands(_program: Command): void {}
