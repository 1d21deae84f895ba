/**
 * The roles an API key can hold. Apart from keys.ts (and its database) so that the CLI can
 * name them in `veil keys create --help` without loading the database driver.
 */
export const ROLES = ['committee', 'researcher', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
