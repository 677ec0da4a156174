/**
 * How the row kernels (rows.wgsl, the nn row kernels, softmax_ce.wgsl) launch on a device: on the
 * row core of shaders/row_reduce.wgsl, or of row_reduce_subgroups.wgsl where the device has
 * subgroups, with the core's constants for a row length and the rows one workgroup covers.
 */
import type { GpuDevice } from '../device.js';
import type { IncludeSwaps } from '../shaderSource.js';
import { nextPow2 } from './common.js';

/** invocations per workgroup of every row kernel */
export const ROW_WG = 256;

/** A row kernel's launch settings for one row length. */
export interface RowLaunch {
  /** the row core the shader is built on */
  includes: IncludeSwaps;
  constants: Record<string, number>;
  /** rows one workgroup covers: the host dispatches ceil(rows / rowsPerGroup) workgroups */
  rowsPerGroup: number;
}

const SUBGROUP_CORE: IncludeSwaps = { row_reduce: 'row_reduce_subgroups' };
const TEAM_INVOCATION = 0;
const TEAM_SUBGROUP = 1;
const TEAM_WORKGROUP = 2;

/**
 * Invocations worth giving one row: about 16 elements each on a GPU (enough loads in flight per
 * row, short reductions), about 64 on a CPU rasterizer, where every invocation and barrier costs
 * real time. A power of two <= 256.
 */
function lanesPerRow(dev: GpuDevice, cols: number): number {
  const perThread = dev.adapter.software ? 64 : 16;
  return Math.min(ROW_WG, nextPow2(Math.max(1, Math.ceil(cols / perThread))));
}

/**
 * The launch of a row kernel over rows of `cols` elements. Without subgroups, lanesPerRow
 * invocations share a row and add their partial sums in a tree in workgroup memory. With them,
 * a row goes to one invocation (a row short enough for one), to a whole workgroup (a row that
 * wants all 256 lanes), else to one subgroup; 256 / the smallest subgroup size rows per
 * workgroup, so that every subgroup has a row whatever size the device picks.
 */
export function rowLaunch(dev: GpuDevice, cols: number): RowLaunch {
  const lanes = lanesPerRow(dev, cols);
  if (!dev.features.subgroupReductions) return { includes: {}, constants: { TPR: lanes }, rowsPerGroup: ROW_WG / lanes };
  if (lanes === 1) return { includes: SUBGROUP_CORE, constants: { ROW_TEAM: TEAM_INVOCATION }, rowsPerGroup: ROW_WG };
  if (lanes === ROW_WG) return { includes: SUBGROUP_CORE, constants: { ROW_TEAM: TEAM_WORKGROUP }, rowsPerGroup: 1 };
  const rows = Math.max(1, Math.min(ROW_WG, Math.floor(ROW_WG / (dev.features.subgroupMinSize ?? 4))));
  return { includes: SUBGROUP_CORE, constants: { ROW_TEAM: TEAM_SUBGROUP, SUBGROUP_ROWS: rows }, rowsPerGroup: rows };
}

/** The row core of kernels that only take workgroup sums from it (softmax_ce.wgsl). */
export function groupSumIncludes(dev: GpuDevice): IncludeSwaps {
  return dev.features.subgroupReductions ? SUBGROUP_CORE : {};
}
