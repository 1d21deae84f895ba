import type { Command } from 'commander';

export function registerTabularCommands(_program: Command): void {}
