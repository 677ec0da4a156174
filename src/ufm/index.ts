/**
 * Deep unconstrained features model dynamics (SPEC section 3): the model and its full-batch
 * gradient descent, random and Hadamard initializations, the reduced ODE under Hadamard
 * initialization, and the measurements that show the low-rank bias of depth.
 */
export { UfmModel, UfmShaped, checkUfmShape, ufmLabels, parameterShape, UFM_PRECISIONS, type UfmShape, type UfmParameters, type UfmPrecision } from './model.js';
export { UfmModelF64, type AnyUfmModel } from './modelF64.js';
export { UfmWorkspace } from './step.js';
export { UfmWorkspaceF64 } from './stepF64.js';
export { ufmStepper, type UfmStepper } from './stepper.js';
export {
  hadamardMatrix, hadamardFactorValues, hadamardUfm, hadamardUfmF64, hadamardUfmParameters, hadamardUfmParametersF64, randomUfm, randomUfmF64,
  randomUfmParameters, randomUfmParametersF64, isPowerOfTwo,
  type HadamardInitOptions, type RandomInitOptions,
} from './init.js';
export {
  dormandPrince, hadamardOdeConstant, hadamardOdeRate, solveHadamardOde,
  type DormandPrinceOptions, type HadamardOdeOptions, type HadamardOdeShape, type OdeSolution,
} from './ode.js';
export {
  adjacentAngles, balancedness, balancednessDrift, centeredLogitSpectrum, classMeanFeatures, classMeanLogits, doubleCenter,
  effectiveRankOf, etfAlignment, featureNc2, hadamardSpectrum, klToCollapse, logitVelocity, measureLogits, normalizeValues,
  type AdjacentAngles, type Balancedness, type FloatArray, type LogitMeasurement,
} from './measure.js';
export {
  trainUfm, measureUfm, UfmDivergenceError,
  type UfmMeasureOptions, type UfmMeasurement, type UfmTrainOptions, type UfmTrainResult, type UfmTrainState,
} from './train.js';
export { saveUfmCheckpoint, loadUfmCheckpoint, ufmCheckpointPrecision, type LoadUfmCheckpointOptions, type UfmCheckpoint } from './checkpoint.js';
