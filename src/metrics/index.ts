/**
 * The metric catalog (SPEC section 6): class statistics, NC1-NC4, spectra, similarity (CKA,
 * D_LR, NFA), margins and the Nystrom eigenfunction view. Functions that read a Matrix return a
 * Promise; the ones that only take ClassStats are synchronous.
 */
export {
  ClassStatsAccumulator, classStats,
  type ClassStats, type ClassStatsOptions, type GlobalMeanMode,
} from './classStats.js';
export { UndefinedMetricError, type HostMatrix, type MatrixLike } from './inputs.js';
export { centeredClassMeans, type MeansInput } from './means.js';
export {
  nc1Quotient, nc1Papyan, nc1PapyanDetails, cdnv, type Nc1QuotientOptions, type Nc1PapyanOptions, type Nc1PapyanResult,
} from './nc1.js';
export { nc2GramMse, etfError, equinorm, nc2A, nc2B, simplexEtfGram } from './nc2.js';
export { nc3Cosine, selfDualityError, selfDualityErrorSquared, kothapalliDuality } from './nc3.js';
export { nc4Agreement, type Nc4Result } from './nc4.js';
export { singularValuesOf, effectiveRank, stableRank } from './spectra.js';
export { linearCka, richnessDlr, nfaCorrelation, type LinearCkaOptions, type RichnessOptions } from './similarity.js';
export { margins, normalizedMargin } from './margins.js';
export { nystromView, type NystromOptions, type NystromView, type NystromVariant } from './nystrom.js';
export {
  computeAllMetrics, inferNumClasses, METRIC_KEY_ALIASES,
  type MetricInputs, type AllMetrics, type AllMetricsOptions, type MetricRow,
} from './all.js';
