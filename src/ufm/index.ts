/**
 * Deep unconstrained features model dynamics (SPEC section 3): the model and its full-batch
 * gradient descent, random and Hadamard initializations, the reduced ODE under Hadamard
 * initialization, and the measurements that show the low-rank bias of depth.
 */
export { UfmModel, checkUfmShape, ufmLabels, parameterShape, type UfmShape, type UfmParameters } from './model.js';
export { UfmWorkspace } from './step.js';
export {
  hadamardMatrix, hadamardFactorValues, hadamardUfm, hadamardUfmParameters, randomUfm, randomUfmParameters, isPowerOfTwo,
  type HadamardInitOptions, type RandomInitOptions,
} from './init.js';
export {
  dormandPrince, hadamardOdeConstant, hadamardOdeRate, solveHadamardOde,
  type DormandPrinceOptions, type HadamardOdeOptions, type HadamardOdeShape, type OdeSolution,
} from './ode.js';
export {
  adjacentAngles, balancedness, balancednessDrift, centeredLogitSpectrum, classMeanFeatures, classMeanLogits, doubleCenter,
  effectiveRankOf, etfAlignment, featureNc2, hadamardSpectrum, klToCollapse, logitVelocity, measureLogits, normalizeValues,
  type AdjacentAngles, type Balancedness, type LogitMeasurement,
} from './measure.js';
export {
  trainUfm, measureUfm, UfmDivergenceError,
  type UfmMeasureOptions, type UfmMeasurement, type UfmTrainOptions, type UfmTrainResult, type UfmTrainState,
} from './train.js';
export { saveUfmCheckpoint, loadUfmCheckpoint, type UfmCheckpoint } from './checkpoint.js';
