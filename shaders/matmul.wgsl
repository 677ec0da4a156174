// C = alpha op(A) op(B) + beta C, batched. The tiled loop is in gemm_core.wgsl; this file only
// supplies the epilogue. With beta == 0, C is never read, so it may hold garbage or NaN.
//!include gemm_core

fn epilogue(row: u32, col: u32, idx: u32, acc: f32) {
  if (gp.beta == 0.0) {
    gC[idx] = gp.alpha * acc;
  } else {
    gC[idx] = gp.alpha * acc + gp.beta * gC[idx];
  }
}
