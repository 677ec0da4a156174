/**
 * Kernel regression, the AGOP, Recursive Feature Machines and Deep RFM (SPEC sections 1 and 2),
 * with the random feature maps and the data loaders they run on.
 */
export {
  KernelRegression, SingularKernelError, signedOneHot, accuracy, meanSquaredError, scorePredictions,
  type KernelRegressionOptions, type LabelTargets, type Targets,
} from './kernelRegression.js';
export {
  agop, agopDetailed, agopBatchRows, agopFlops, agopGramBytes, chooseAgopMethod, AGOP_METHODS, AGOP_NORMALIZATIONS,
  type AgopNormalization, type AgopOptions, type AgopResult,
} from '../ops/agop.js';
export type { AgopMethod, AgopReport } from '../backend/types.js';
export { Rfm, type RfmOptions, type RfmIteration } from './rfm.js';
export {
  DeepRfm, deepRfm, DEEP_RFM_PHASES,
  type DeepRfmOptions, type DeepRfmResult, type DeepRfmLayer, type DeepRfmFinal, type DeepRfmPhase,
  type LabeledMatrix, type LayerMatrices, type LayerFeatureMatrices, type HostMatrixF32, type PhaseSeconds, type StageValues,
} from './deepRfm.js';
export { reluFeatures, laplaceFourierFeatures, FEATURE_MAPS, type FeatureMap, type FeatureMapKind, type ReluFeaturesOptions, type FourierFeaturesOptions } from './features.js';
export { centeredGram, gramSummary, type GramSummary } from './gram.js';
export { KERNEL_SOLVERS, type KernelSolver } from './solvers/choose.js';
export type { SolveReport } from './solvers/solveKernel.js';
export type { IterativeSolveOptions } from './solvers/iterative.js';
