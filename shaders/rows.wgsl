// Per-row reductions over a block of `rows` rows of `cols` elements (row stride ld), on the row
// core of row_reduce.wgsl (or its subgroup version): which invocations share a row and how their
// partial sums are added is the core's business; the host picks its constants from the row length.
//
// flags: bit 0 adds the block's sum to what out already holds (rows longer than one binding
// are summed in column blocks); bit 1 writes sqrt of the sum.
//!include row_reduce

struct RowParams {
  rows: u32,
  cols: u32,
  ld: u32,
  offX: u32,
  offB: u32,
  offOut: u32,
  groupsX: u32,
  flags: u32,
}

@group(0) @binding(0) var<uniform> rp: RowParams;
@group(0) @binding(1) var<storage, read> rX: array<f32>;
// row_sumsq / row_normalize: out at 2. row_dot / row_scale: second input at 2, out at 3.
@group(0) @binding(2) var<storage, read_write> rOut2: array<f32>;
@group(0) @binding(2) var<storage, read> rB: array<f32>;
@group(0) @binding(3) var<storage, read_write> rOut3: array<f32>;
// in-place: out alone at 1 (row_normalize_inplace), or out at 1 and norms at 2 (row_scale_inplace)
@group(0) @binding(1) var<storage, read_write> rOut1: array<f32>;

fn finish(total: f32, out: u32) -> f32 {
  var v = total;
  if ((rp.flags & 1u) != 0u) {
    v = v + rOut2[out];
  }
  if ((rp.flags & 2u) != 0u) {
    v = sqrt(v);
  }
  return v;
}

@compute @workgroup_size(WG)
fn row_sumsq(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = row_slot(ids, turn, rp.rows, rp.groupsX);
    var s = 0.0;
    if (slot.valid) {
      let base = rp.offX + slot.row * rp.ld;
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        let v = rX[base + c];
        s += v * v;
      }
    }
    let total = row_sum(ids, slot, s);
    if (slot.valid && slot.lane == 0u) {
      let out = rp.offOut + slot.row;
      rOut2[out] = finish(total, out);
    }
  }
}

@compute @workgroup_size(WG)
fn row_dot(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = row_slot(ids, turn, rp.rows, rp.groupsX);
    var s = 0.0;
    if (slot.valid) {
      let baseA = rp.offX + slot.row * rp.ld;
      let baseB = rp.offB + slot.row * rp.ld;
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        s += rX[baseA + c] * rB[baseB + c];
      }
    }
    let total = row_sum(ids, slot, s);
    if (slot.valid && slot.lane == 0u) {
      var v = total;
      let out = rp.offOut + slot.row;
      if ((rp.flags & 1u) != 0u) {
        v = v + rOut3[out];
      }
      rOut3[out] = v;
    }
  }
}

fn inverse_norm(sumsq: f32) -> f32 {
  // a zero row stays zero
  if (sumsq > 0.0) {
    return 1.0 / sqrt(sumsq);
  }
  return 0.0;
}

// out row = x row / ||x row||, whole rows in one binding
@compute @workgroup_size(WG)
fn row_normalize(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = row_slot(ids, turn, rp.rows, rp.groupsX);
    var s = 0.0;
    let base = rp.offX + slot.row * rp.ld;
    if (slot.valid) {
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        let v = rX[base + c];
        s += v * v;
      }
    }
    let inv = inverse_norm(row_sum(ids, slot, s));
    if (slot.valid) {
      let baseOut = rp.offOut + slot.row * rp.ld;
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        rOut2[baseOut + c] = rX[base + c] * inv;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn row_normalize_inplace(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = row_slot(ids, turn, rp.rows, rp.groupsX);
    var s = 0.0;
    let base = rp.offOut + slot.row * rp.ld;
    if (slot.valid) {
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        let v = rOut1[base + c];
        s += v * v;
      }
    }
    let inv = inverse_norm(row_sum(ids, slot, s));
    if (slot.valid) {
      for (var c = slot.lane; c < rp.cols; c += slot.stride) {
        rOut1[base + c] = rOut1[base + c] * inv;
      }
    }
  }
}

// Elementwise over a rows x cols block: out = x / sqrt(sumsq[row]), for rows too long to
// normalize in one turn. 1024 elements per workgroup.
fn scale_index(wg: vec3<u32>, lid: u32, i: u32) -> u32 {
  return (wg.y * rp.groupsX + wg.x) * 1024u + i * WG + lid;
}

@compute @workgroup_size(WG)
fn row_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = 0u; i < 4u; i++) {
    let e = scale_index(wg, lid, i);
    if (e < rp.rows * rp.cols) {
      let r = e / rp.cols;
      let c = e % rp.cols;
      rOut3[rp.offOut + r * rp.ld + c] = rX[rp.offX + r * rp.ld + c] * inverse_norm(rB[rp.offB + r]);
    }
  }
}

// out at 1, squared norms at 2
@compute @workgroup_size(WG)
fn row_scale_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var i = 0u; i < 4u; i++) {
    let e = scale_index(wg, lid, i);
    if (e < rp.rows * rp.cols) {
      let r = e / rp.cols;
      let c = e % rp.cols;
      let idx = rp.offOut + r * rp.ld + c;
      rOut1[idx] = rOut1[idx] * inverse_norm(rB[rp.offB + r]);
    }
  }
}
