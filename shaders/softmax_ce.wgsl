// Softmax cross-entropy over the columns of Z (K x N, row-major; column i is sample i) with one
// label per column: G = (softmax(Z) - onehot(labels)) * invN, and the mean loss
// (1/N) sum_i [log sum_r exp(z_ri) - z_(y_i) i].
//
// One invocation per column; consecutive invocations take consecutive columns, so every row
// access of a workgroup is coalesced. Softmax is taken relative to the column max m, and the loss
// per column is (m - z_y) + log(sum exp(z - m)), which stays accurate for logits of any size.
// The sum over the other classes, o = sum_{r != y} exp(z_r - m), is kept separately: the label
// entry of the gradient is -o / sum (no cancellation in p_y - 1), and when the label holds the max
// the loss is log1p(o), so losses far below f32 epsilon are still resolved.
//
// ce_fused does everything in one pass when all K rows of a column block fit one binding; each
// workgroup tree-sums its columns' losses into one partial. Larger matrices take three passes
// over row blocks: ce_stats merges each block's max and sum of exponentials into per-column
// running values (m, s) and picks z_y from the block holding the label (stats interleaved as
// [m, s, o, z_y] per column), ce_grad writes the gradient, and ce_loss turns the statistics into
// per-workgroup loss partials. ce_sum then adds partials, 4096 per workgroup, until one is left,
// and the last level writes loss * invN to the requested slot of the loss buffer. The workgroup
// sums are row_reduce.wgsl's group_sum (on subgroup operations where the device has them).
//!include row_reduce

struct CeParams {
  // rows in this block
  k: u32,
  // row stride of Z and G (N)
  ld: u32,
  // columns in this block (or the element count for ce_sum)
  cols: u32,
  offZ: u32,
  offG: u32,
  offY: u32,
  offS: u32,
  offOut: u32,
  // first row of this block: labels are compared against row0 + r
  row0: u32,
  groupsX: u32,
  // gradient scale (1/N); in ce_sum the factor applied to each sum
  invN: f32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> cp: CeParams;

// ce_fused: z 1, labels 2, grad 3, partials 4
// ce_stats: z 1, labels 2, stats 3
// ce_grad: z 1, stats 2, labels 3, grad 4
// ce_loss: stats 1, partials 2
// ce_sum: partials 1, out 2
@group(0) @binding(1) var<storage, read> ceZ: array<f32>;
@group(0) @binding(2) var<storage, read> ceY2: array<f32>;
@group(0) @binding(3) var<storage, read_write> ceG3: array<f32>;
@group(0) @binding(4) var<storage, read_write> ceOut4: array<f32>;
@group(0) @binding(3) var<storage, read_write> ceStats3: array<f32>;
@group(0) @binding(2) var<storage, read> ceStats2: array<f32>;
@group(0) @binding(3) var<storage, read> ceY3: array<f32>;
@group(0) @binding(4) var<storage, read_write> ceG4: array<f32>;
@group(0) @binding(1) var<storage, read> ceIn1: array<f32>;
@group(0) @binding(2) var<storage, read_write> ceOut2: array<f32>;

const SUM_PER_THREAD: u32 = 16u;

// log(1 + x) for x >= 0, accurate for tiny x (WGSL has no log1p)
fn ce_log1p(x: f32) -> f32 {
  if (x < 1e-4) {
    return x * (1.0 - x * (0.5 - x / 3.0));
  }
  return log(1.0 + x);
}

fn ce_column_loss(m: f32, s: f32, o: f32, zy: f32) -> f32 {
  if (zy == m) {
    return ce_log1p(o);
  }
  return (m - zy) + log(s);
}

@compute @workgroup_size(WG)
fn ce_fused(ids: RowIds) {
  let g = group_index(ids, cp.groupsX);
  let col = g * WG + ids.lid;
  var lossCol = 0.0;
  if (col < cp.cols) {
    let base = cp.offZ + col;
    let y = u32(ceY2[cp.offY + col]);
    var m = ceZ[base];
    for (var r = 1u; r < cp.k; r++) {
      m = max(m, ceZ[base + r * cp.ld]);
    }
    var s = 0.0;
    var o = 0.0;
    for (var r = 0u; r < cp.k; r++) {
      let e = exp(ceZ[base + r * cp.ld] - m);
      s += e;
      if (r != y) {
        o += e;
      }
    }
    lossCol = ce_column_loss(m, s, o, ceZ[base + y * cp.ld]);
    let inv = 1.0 / s;
    let gbase = cp.offG + col;
    for (var r = 0u; r < cp.k; r++) {
      var v = -o * inv;
      if (r != y) {
        v = exp(ceZ[base + r * cp.ld] - m) * inv;
      }
      ceG3[gbase + r * cp.ld] = v * cp.invN;
    }
  }
  let total = group_sum(ids, lossCol);
  // a folded grid may hold groups past the last column: they must not write
  if (ids.lid == 0u && g * WG < cp.cols) {
    ceOut4[cp.offOut + g] = total;
  }
}

@compute @workgroup_size(WG)
fn ce_stats(ids: RowIds) {
  let col = group_index(ids, cp.groupsX) * WG + ids.lid;
  if (col >= cp.cols) {
    return;
  }
  let base = cp.offZ + col;
  let y = u32(ceY2[cp.offY + col]);
  var bm = ceZ[base];
  for (var r = 1u; r < cp.k; r++) {
    bm = max(bm, ceZ[base + r * cp.ld]);
  }
  var bs = 0.0;
  var bo = 0.0;
  for (var r = 0u; r < cp.k; r++) {
    let e = exp(ceZ[base + r * cp.ld] - bm);
    bs += e;
    if (cp.row0 + r != y) {
      bo += e;
    }
  }
  let st = cp.offS + 4u * col;
  var zy = 0.0;
  if (cp.row0 > 0u) {
    zy = ceStats3[st + 3u];
  }
  if (y >= cp.row0 && y < cp.row0 + cp.k) {
    zy = ceZ[base + (y - cp.row0) * cp.ld];
  }
  if (cp.row0 == 0u) {
    ceStats3[st] = bm;
    ceStats3[st + 1u] = bs;
    ceStats3[st + 2u] = bo;
  } else {
    let m = ceStats3[st];
    let mm = max(m, bm);
    let a = exp(m - mm);
    let b = exp(bm - mm);
    ceStats3[st] = mm;
    ceStats3[st + 1u] = ceStats3[st + 1u] * a + bs * b;
    ceStats3[st + 2u] = ceStats3[st + 2u] * a + bo * b;
  }
  ceStats3[st + 3u] = zy;
}

@compute @workgroup_size(WG)
fn ce_grad(ids: RowIds) {
  let col = group_index(ids, cp.groupsX) * WG + ids.lid;
  if (col >= cp.cols) {
    return;
  }
  let st = cp.offS + 4u * col;
  let m = ceStats2[st];
  let inv = 1.0 / ceStats2[st + 1u];
  let o = ceStats2[st + 2u];
  let y = u32(ceY3[cp.offY + col]);
  for (var r = 0u; r < cp.k; r++) {
    var v = -o * inv;
    if (cp.row0 + r != y) {
      v = exp(ceZ[cp.offZ + col + r * cp.ld] - m) * inv;
    }
    ceG4[cp.offG + col + r * cp.ld] = v * cp.invN;
  }
}

@compute @workgroup_size(WG)
fn ce_loss(ids: RowIds) {
  let g = group_index(ids, cp.groupsX);
  let col = g * WG + ids.lid;
  var lossCol = 0.0;
  if (col < cp.cols) {
    let st = cp.offS + 4u * col;
    lossCol = ce_column_loss(ceIn1[st], ceIn1[st + 1u], ceIn1[st + 2u], ceIn1[st + 3u]);
  }
  let total = group_sum(ids, lossCol);
  if (ids.lid == 0u && g * WG < cp.cols) {
    ceOut2[cp.offOut + g] = total;
  }
}

@compute @workgroup_size(WG)
fn ce_sum(ids: RowIds) {
  let g = group_index(ids, cp.groupsX);
  var v = 0.0;
  for (var i = 0u; i < SUM_PER_THREAD; i++) {
    let e = g * WG * SUM_PER_THREAD + i * WG + ids.lid;
    if (e < cp.cols) {
      v += ceIn1[cp.offS + e];
    }
  }
  let total = group_sum(ids, v);
  if (ids.lid == 0u && g * WG * SUM_PER_THREAD < cp.cols) {
    ceOut2[cp.offOut + g] = total * cp.invN;
  }
}
