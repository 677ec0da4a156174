// Fused pairwise kernel matrix: out[i, j] = k(r2), r2 = max(nx_i + nz_j - 2 <x_i, z_j>, 0),
// computed as the epilogue of the GEMM X Z^T (gemm_core.wgsl with TRANS_B). With a Mahalanobis
// matrix the host passes X M as A and the M-norms in `norms`.
// norms holds the squared row norms of this block's rows at offRow and of its columns at offCol.
//!include gemm_core
//!include pairwise_kernels

@group(0) @binding(4) var<storage, read> norms: array<f32>;

fn epilogue(row: u32, col: u32, idx: u32, acc: f32) {
  let r2 = max(norms[gp.offRow + row] + norms[gp.offCol + col] - 2.0 * acc, 0.0);
  gC[idx] = apply_kernel(r2, gp.scale);
}
