export { matmul, type MatmulOptions } from './matmul.js';
export { sqDistances, kernelMatrix, laplaceKernel, gaussianKernel, KERNELS, type Kernel, type KernelOptions } from './kernels.js';
export { relu, cos, exp, scale, axpy, type InPlace } from './elementwise.js';
export { rowNorms, rowNormalize, rowDot, colSums, classSums, max, countNonFinite } from './reduce.js';
export {
  solve, solveDetailed, eigh, svd, singularValues, qr, pinv, sqrtPsd,
  type SolveOptions, type SolveResult, type Eigh, type Svd, type PinvOptions, type Precision, type PrecisionOption,
} from './linalg.js';
export { ShapeError } from './validate.js';
export type { SolveMethod } from '../backend/cpu/addon.js';
export { softmaxCe, classLabels, ClassLabels, type SoftmaxCe, type SoftmaxCeOptions } from './softmaxCe.js';
export {
  biasAdd, biasGradient, reluBackward, softmaxCeRows, mseLoss, layerNorm, layerNormBackward, rowSoftmax, softmaxBackward,
  batchMatmul, copyInto, embedding, embeddingBackward, checkTokenIds, addPositions, positionsGradient, gatherPieces, sgdUpdate, adamUpdate,
  type OutOption, type LossOptions, type LayerNormResult, type BatchMatmulOptions, type EmbeddingGradients, type SgdStep, type AdamStep,
} from './nn.js';
export { matmulF64, zerosF64, type MatrixF64, type MatmulF64Options } from './matmulF64.js';
export { softmaxCeF64 } from './softmaxCeF64.js';
