import type { PrivacySpec } from '../../policy/sections/tabular.js';
import { kAnonymity } from './kAnonymity.js';
import { lDiversity } from './lDiversity.js';
import type { PrivacyModel, SensitiveAttribute } from './model.js';
import { tCloseness } from './tCloseness.js';

/** The set of models a policy asks for; a model may appear once. */
export class ModelRegistry {
  private readonly models: PrivacyModel[] = [];

  add(model: PrivacyModel): this {
    if (this.models.some((m) => m.id === model.id)) throw new Error(`privacy model ${model.id} is already registered`);
    this.models.push(model);
    return this;
  }

  list(): readonly PrivacyModel[] {
    return this.models;
  }
}

export function modelsForPolicy(
  privacy: PrivacySpec,
  attributes: readonly SensitiveAttribute[],
  globalCounts: readonly Int32Array[],
  rowCount: number,
  entityColumn?: string,
): ModelRegistry {
  const registry = new ModelRegistry().add(kAnonymity(privacy.k, entityColumn));
  if (privacy.l) registry.add(lDiversity(privacy.l.variant, privacy.l.l, attributes, privacy.l.c ?? 0));
  if (privacy.t) registry.add(tCloseness(privacy.t.t, attributes, globalCounts, rowCount));
  return registry;
}
