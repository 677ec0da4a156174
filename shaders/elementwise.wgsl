// Elementwise maps over a contiguous range of `count` elements.
//
// Each workgroup covers 1024 consecutive elements (256 invocations x 4, strided by 256 so every
// load is coalesced); the workgroup index is folded over x and y by the host (groupsX). Inputs
// that are the same storage as the output are not bound twice (a writable binding may not alias
// another binding), so each map also has in-place entry points that read the output binding.
//
// unary OP codes follow UNARY_OP_CODES (0 relu, 1 cos, 2 scale: alpha x, 3 exp); 4 sqrt and
// 5 fill (out = alpha) are used internally.

struct EwParams {
  count: u32,
  offX: u32,
  offY: u32,
  offOut: u32,
  groupsX: u32,
  alpha: f32,
  // element step of fill_strided (cols + 1 walks a diagonal)
  stride: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> ep: EwParams;

// unary: x at 1, out at 2.  axpy: x at 1, y at 2, out at 3.
@group(0) @binding(1) var<storage, read> ewX: array<f32>;
@group(0) @binding(2) var<storage, read_write> ewOut2: array<f32>;
@group(0) @binding(2) var<storage, read> ewY: array<f32>;
@group(0) @binding(3) var<storage, read_write> ewOut3: array<f32>;
// in-place entry points: the output alone at 1, or an input at 1 and the output at 2.
@group(0) @binding(1) var<storage, read_write> ewOut1: array<f32>;

override OP: u32 = 0u;

const PER_THREAD: u32 = 4u;
const WG: u32 = 256u;

fn first_element(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * ep.groupsX + wg.x) * (WG * PER_THREAD) + lid;
}

fn unary_op(v: f32) -> f32 {
  switch OP {
    case 0u: {
      return max(v, 0.0);
    }
    case 1u: {
      return cos(v);
    }
    case 2u: {
      return ep.alpha * v;
    }
    case 3u: {
      return exp(v);
    }
    case 4u: {
      return sqrt(v);
    }
    default: {
      return ep.alpha;
    }
  }
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      ewOut2[ep.offOut + e] = unary_op(ewX[ep.offX + e]);
    }
  }
}

@compute @workgroup_size(WG)
fn unary_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      ewOut1[idx] = unary_op(ewOut1[idx]);
    }
  }
}

// out = alpha x + y
@compute @workgroup_size(WG)
fn axpy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      ewOut3[ep.offOut + e] = ep.alpha * ewX[ep.offX + e] + ewY[ep.offY + e];
    }
  }
}

// out is x: binding 1 is y, binding 2 is out
@compute @workgroup_size(WG)
fn axpy_out_is_x(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      ewOut2[idx] = ep.alpha * ewOut2[idx] + ewX[ep.offY + e];
    }
  }
}

// out is y: binding 1 is x, binding 2 is out
@compute @workgroup_size(WG)
fn axpy_out_is_y(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      ewOut2[idx] = ep.alpha * ewX[ep.offX + e] + ewOut2[idx];
    }
  }
}

// out, x and y are one storage: out = (alpha + 1) out
@compute @workgroup_size(WG)
fn axpy_all_same(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      let v = ewOut1[idx];
      ewOut1[idx] = ep.alpha * v + v;
    }
  }
}

// out[offOut + e * stride] = alpha for e < count: sets a matrix diagonal (stride = cols + 1)
@compute @workgroup_size(WG)
fn fill_strided(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      ewOut1[ep.offOut + e * ep.stride] = ep.alpha;
    }
  }
}
