import type { Command } from 'commander';

/** Registers the `veil image` commands (placeholder until its issue lands). */
export function registerImageCommands(_program: Command): void {}
