// Unfused finishing pass for pairwise kernels whose inner dimension had to be split across
// several GEMM launches: out holds <x_i, z_j> for a rows x cols block (row stride ld) and is
// overwritten in place with k(max(nx_i + nz_j - 2 out, 0)).
//!include pairwise_kernels

struct FinalizeParams {
  rows: u32,
  cols: u32,
  ld: u32,
  offOut: u32,
  offRow: u32,
  offCol: u32,
  groupsX: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> fp: FinalizeParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> rowNorms: array<f32>;
@group(0) @binding(3) var<storage, read> colNorms: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wg.y * fp.groupsX + wg.x) * 256u + lid;
  if (e >= fp.rows * fp.cols) {
    return;
  }
  let r = e / fp.cols;
  let c = e % fp.cols;
  let idx = fp.offOut + r * fp.ld + c;
  let r2 = max(rowNorms[fp.offRow + r] + colNorms[fp.offCol + c] - 2.0 * out[idx], 0.0);
  out[idx] = apply_kernel(r2, fp.scale);
}
