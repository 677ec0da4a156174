// AGOP Jacobians: for a batch of points, J'[i, c d + p] = sum_j W[i, j] Z[j, c d + p]
// - (W alpha)[i, c] PM[i, p], with W the pairwise gradient weights (batch x N), Z[j, c d + p] =
// alpha[j, c] (X M)[j, p] and PM the batch's points times M. Up to the factor -s this is the
// gradient of output c at point i, so the host adds s^2 J'^T J' to the AGOP.
//
// The GEMM is the tiled loop of gemm_core.wgsl. When the host splits the inner dimension
// (the N centers) over several launches, the first one (beta == 0) applies the rank-one
// correction and later ones (beta == 1) add their partial sums.
// pm holds the block's rows of PM from offRow (row stride D); walpha its rows of W alpha from
// offCol (row stride NCLASS). The host keeps every launch's columns whole (n0 = 0).
//!include gemm_core

@group(0) @binding(4) var<storage, read> pm: array<f32>;
@group(0) @binding(5) var<storage, read> walpha: array<f32>;

/** feature dimension d */
override D: u32 = 1u;
/** number of outputs K */
override NCLASS: u32 = 1u;

fn epilogue(row: u32, col: u32, idx: u32, acc: f32) {
  if (gp.beta == 0.0) {
    let c = col / D;
    let p = col - c * D;
    gC[idx] = acc - walpha[gp.offCol + row * NCLASS + c] * pm[gp.offRow + row * D + p];
  } else {
    gC[idx] = acc + gC[idx];
  }
}
