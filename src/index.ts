/**
 * ncgpu: neural collapse and feature learning on the GPU.
 *
 *   const ctx = await createContext({ backend: 'auto' });
 *   const X = ctx.matrix(data, [n, d], { name: 'X' });
 *   const K = await kernelMatrix(X, X, 'laplace', 2.0);
 *   console.log(await K.read());
 *   await ctx.dispose();
 */
export { createContext, Context, BACKEND_CHOICES, type BackendChoice, type ContextOptions, type FiniteCheck, type MatrixOptions } from './context.js';
export { Matrix, type Shape } from './tensor.js';
export * from './ops/index.js';
export { Rng } from './random.js';
export { addon as nativeAddon } from './backend/cpu/addon.js';
export type {
  Backend, BackendInfo, BackendName, BackendStats, AdapterDescription, PairwiseKernel, Storage, SoftwareLane,
  UnaryOp, GemmArgs, PairwiseArgs, AgopArgs, EmbeddingArgs, SgdUpdateArgs, AdamUpdateArgs,
  ShaderFeature, GpuFeatureInfo, GemmPrecision, GemmTileControl, TunedGemmTiles, TunedGemmShader,
} from './backend/types.js';
export { SOFTWARE_LANES, SHADER_FEATURES, GEMM_PRECISIONS } from './backend/types.js';
export { VERSION } from './version.js';
export { benchOp, knownFp32Peak, BENCH_OPS, type BenchOp, type BenchRow, type BenchOptions } from './bench/shaders.js';
export { tuneOp, TUNABLE_OPS, type TuneRow, type TuneResult } from './bench/tune.js';
export { resolveTileCachePath, readTileCache, writeTileCache, type TunedRecord, type TileCacheRead } from './backend/webgpu/tileCache.js';
export * from './metrics/index.js';
export { readNpy, writeNpy, parseNpy, parseNpyHeader, encodeNpy, type NpyArray, type NpyDtype, type NpyHeader } from './data/npy.js';
export { renderLineChart, renderVegaLite, svgToPng, type LineChartOptions, type Series, type RenderedChart } from './report/plot.js';
export { renderEigenfunctionView, type EigenfunctionViewOptions } from './report/eigenfunctionView.js';
export { renderHeatmap, classBoundaries, type HeatmapOptions } from './report/heatmap.js';
export * from './ufm/index.js';
export * from './rfm/index.js';
export { loadMnist, mnistClassSizes, MNIST_CLASSES, MNIST_PIXELS, type MnistOptions } from './data/mnist.js';
export { gaussianMixture, type GaussianMixtureOptions } from './data/gaussian.js';
export { checkDataset, classCounts, datasetMatrix, orderByClass, type Dataset, type DatasetSplit } from './data/dataset.js';
export { labelEncodedMnist, labelEncodedSplit, encodeLabels, type LabelEncodedMnistOptions, type LabelEncodedSplit, type LabelEncodingOptions } from './data/labelEncoded.js';
export { majorityTokenTask, majorityToken, type MajorityTokenOptions, type TokenDataset, type TokenSplit } from './data/tokens.js';
export { BatchSampler, epochOrder, gatherRows, gatherLabels, type BatchSamplerOptions, type SamplerState } from './data/batches.js';
export { loadNpyDataset } from './data/npyDataset.js';
export { readArrayFile, writeArrayFile, parseArraySpec, isArrayFile, ARRAY_FILE_EXTENSIONS, type NumericArray } from './data/arrayFile.js';
export { readSafetensors, writeSafetensors, parseSafetensors, encodeSafetensors, type TensorToSave } from './data/safetensors.js';
export {
  detectStandardDataset,
  loadStandardDataset,
  STANDARD_FORMATS,
  type StandardFormat,
  type StandardDatasetFiles,
  type StandardDataset,
  type DetectStandardOptions,
  type LoadStandardOptions,
} from './data/standard/index.js';
export { standardizeSplit, fitStandardizer, applyStandardizer, type Standardizer } from './data/standardize.js';
/**
 * Trainable networks (MLP, ResNet, transformer), their losses, optimizers and trainer, and the
 * collapse and richness experiments run on them: `import { nn } from 'ncgpu'`, then `nn.mlp(...)`.
 */
export * as nn from './nn/index.js';
