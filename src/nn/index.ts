/**
 * Trainable networks: layers with forward/backward on the backend, models (MLP, ResNets L-RN1 and
 * L-RN2, transformer, vision transformer), losses and optimizers. Exposed as `nn` from the package root.
 */
export type { Module, Parameter, ForwardOptions } from './module.js';
export { TrainableParameter } from './parameter.js';
export { initValues, type InitKind } from './init.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { ReLU } from './layers/relu.js';
export { Sequential, type Stage, type BackwardOptions } from './layers/sequential.js';
export { Slot } from './layers/slot.js';
export { LayerNorm } from './layers/layerNorm.js';
export { Residual } from './layers/residual.js';
export { TokenPositionEmbedding, type EmbeddingOptions } from './layers/embedding.js';
export { PatchEmbedding, type PatchEmbeddingOptions } from './layers/patchEmbedding.js';
export { patchGrid, defaultPatchSize, patchPieceOrder, patchPieceIds, type ImageShape, type PatchGrid } from './patches.js';
export { CausalSelfAttention, type AttentionOptions } from './layers/attention.js';
export { LastPosition } from './layers/lastPosition.js';
export { crossEntropy, meanSquaredError, classLabels, ClassLabels, type LossResult, type LossOptions } from './loss.js';
export { sgd, adam, type Optimizer, type OptimizerState, type SgdOptions, type AdamOptions } from './optim.js';
export type { Model } from './models/model.js';
export { mlp, Mlp, type MlpOptions } from './models/mlp.js';
export { resnet, ResNet, type ResNetOptions } from './models/resnet.js';
export { resnet2, ResNet2, type ResNet2Options } from './models/resnet2.js';
export {
  transformer, Transformer, CausalTransformer, type TransformerOptions, type SequenceEmbedding, type CausalTransformerBody,
} from './models/transformer.js';
export { visionTransformer, VisionTransformer, type VisionTransformerOptions } from './models/vit.js';
export { checkTokenIds } from '../ops/nn.js';
// training: trainer, schedules, objectives, checkpoints, per-layer AGOP, experiments
export {
  trainNetwork, evaluateNetwork, NnDivergenceError,
  type TrainOptions, type TrainInputs, type TrainState, type TrainResult, type EvalPoint, type EvalData, type TrainableOptimizer,
} from './train.js';
export { learningRateAt, checkSchedule, SCHEDULE_KINDS, type Schedule, type ScheduleKind } from './schedule.js';
export {
  crossEntropyObjective, mseObjective, classTargets, CrossEntropyObjective, MseObjective, type Objective, type TargetCoding,
} from './objective.js';
export {
  saveNnCheckpoint, loadNnCheckpoint, loadTrainingCheckpoint, readParameters, restoreParameters, assignMatrix, type NnCheckpointData,
} from './checkpoint.js';
export { mlpLayerAgops, type LayerAgopOptions } from './layerAgop.js';
export { headCollapse, COLLAPSE_KEYS, type HeadCollapse } from './experiments/collapse.js';
export {
  depthSweep, depthRun, DEPTH_ARCHS, WEIGHT_DECAY_SCALINGS, type DepthArch, type WeightDecayScaling, type DepthSweepSettings, type DepthRun, type DepthRow,
} from './experiments/depthSweep.js';
export { richnessRun, richVsLazy, targetScaling, type RichnessSettings, type RichnessRun } from './experiments/richness.js';
export { svdNc1, type SvdNc1Settings, type SvdNc1Measurement, type SvdNc1Layer, type SvdNc1Result } from './experiments/svdNc1.js';
