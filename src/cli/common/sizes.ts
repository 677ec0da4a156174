/**
 * Size checks made from a command's options before anything is allocated, so an impossible run
 * stops at once with the option to change instead of after minutes or with "Invalid typed array
 * length". The estimates count what is alive together (parameters, their gradients, optimizer
 * state, activations over the samples measured at once); they are lower bounds, not promises.
 */
import { checkHostMemory } from '../../memory.js';

/** No backend holds a matrix of more elements than this (Float32Array and BLAS index limits). */
export const MAX_MATRIX_ELEMENTS = 2 ** 31 - 1;

/** Refuses one matrix of rows x cols that no backend can hold, naming the option that sets it. */
export function checkMatrixElements(option: string, rows: number, cols: number, what: string): void {
  if (rows * cols > MAX_MATRIX_ELEMENTS) {
    throw new Error(`${option}: ${what} of ${rows} x ${cols} = ${rows * cols} elements exceeds the ${MAX_MATRIX_ELEMENTS} elements a matrix can hold`);
  }
}

export interface NetworkSize {
  /** features per sample */
  inputs: number;
  width: number;
  /** hidden layers (or blocks) */
  depth: number;
  outputs: number;
  /** samples whose activations are alive together (a batch, or the whole set when measured at once) */
  samples: number;
  /** weight matrices of width x width per layer (a residual block has two) */
  matricesPerLayer?: number;
}

/** Refuses a network whose weights or activations cannot fit; `--width` and `--depth` set the size. */
export function checkNetworkSize(n: NetworkSize): void {
  checkMatrixElements(`--width ${n.width}`, n.inputs, n.width, 'the first layer');
  checkMatrixElements(`--width ${n.width}`, n.width, n.width, 'a hidden layer');
  checkMatrixElements(`--width ${n.width}`, n.samples, n.width, 'the activations of one layer');
  const weights = n.inputs * n.width + (n.matricesPerLayer ?? 1) * n.depth * n.width * n.width + n.width * n.outputs;
  // weights, gradients and two optimizer moments, plus one activation and its gradient per layer, in f32
  const bytes = 4 * (4 * weights + 2 * (n.depth + 1) * n.samples * n.width);
  checkHostMemory(bytes, `a network of depth ${n.depth} and width ${n.width} (--depth, --width)`, 'lower --width or --depth');
}
