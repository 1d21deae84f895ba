/**
 * Re-identification risk models over equivalence-class sizes: prosecutor / journalist /
 * marketer risk (El Emam), sample and population uniqueness (Pitman, Zayatz, SNB, Dankar et
 * al.'s rule), and a HIPAA Safe Harbor check of a published table. Pure functions except the
 * readers of population tables.
 */
export { reidentificationRisks, populationFromSamplingFraction, type ReidentificationRisks, type RiskSummary } from './reidentification.js';
export { sizeHistogram, classesOfSize, type SizeHistogram } from './histogram.js';
export { pitmanUniques, pitmanExpectedUniques, pitmanLogLikelihood, type PitmanFit } from './pitman.js';
export { zayatzUniques } from './zayatz.js';
export { snbUniques, fitSnb, shlosserClasses, expectedSampleClasses, type SnbFit } from './snb.js';
export { uniquenessEstimates, type UniquenessEstimates, type UniquenessModel } from './uniqueness.js';
export { safeHarborCheck, type SafeHarborResult, type SafeHarborRule, type SafeHarborStatus } from './safeHarbor.js';
export { readPopulation, readZipPopulation, populationOfOriginalClasses, populationOfPublishedClasses, type Population } from './population.js';
export { riskModels, smallestAllowedClass, type RiskModelsReport, type RiskThresholds } from './assess.js';
export { logGamma, hypergeometricOne } from './special.js';
