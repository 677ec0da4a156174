/**
 * Trainable networks: layers with forward/backward on the backend, models (MLP, ResNet,
 * transformer), losses and optimizers. Exposed as `nn` from the package root.
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
export { CausalSelfAttention, type AttentionOptions } from './layers/attention.js';
export { LastPosition } from './layers/lastPosition.js';
export { crossEntropy, meanSquaredError, classLabels, ClassLabels, type LossResult, type LossOptions } from './loss.js';
export { sgd, adam, type Optimizer, type OptimizerState, type SgdOptions, type AdamOptions } from './optim.js';
export type { Model } from './models/model.js';
export { mlp, Mlp, type MlpOptions } from './models/mlp.js';
export { resnet, ResNet, type ResNetOptions } from './models/resnet.js';
export { transformer, Transformer, type TransformerOptions } from './models/transformer.js';
export { checkTokenIds } from '../ops/nn.js';
