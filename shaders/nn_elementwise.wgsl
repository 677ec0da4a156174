// Elementwise pieces of trainable networks (src/nn): bias added to every row, and the ReLU
// backward mask. Each workgroup covers 1024 consecutive elements (256 invocations x 4, strided
// by 256 so loads are coalesced); the host folds the workgroup index over x and y (groupsX).
// An output that is the same storage as an input is not bound twice (a writable binding may not
// alias another binding): the *_inplace entry points read it through the output binding.

struct NnEwParams {
  count: u32,
  cols: u32,
  offX: u32,
  offB: u32,
  offOut: u32,
  groupsX: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> ep: NnEwParams;
// bias_add: x at 1, bias at 2, out at 3.  relu_backward: x at 1, dy at 2, dx at 3.
@group(0) @binding(1) var<storage, read> ewA: array<f32>;
@group(0) @binding(2) var<storage, read> ewB: array<f32>;
@group(0) @binding(3) var<storage, read_write> ewOut3: array<f32>;
// in place: bias (or x) at 1, out (which is also the other input) at 2
@group(0) @binding(2) var<storage, read_write> ewOut2: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * ep.groupsX + wg.x) * (WG * PER_THREAD) + lid;
}

// A NaN input passes through (so a NaN activation is never masked into a silent 0).
fn relu_mask(x: f32, dy: f32) -> f32 {
  if (x > 0.0) {
    return dy;
  }
  if (x != x) {
    return x;
  }
  return 0.0;
}

// out = x + bias[col]; the block starts at a row boundary, so col = e % cols
@compute @workgroup_size(WG)
fn bias_add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      ewOut3[ep.offOut + e] = ewA[ep.offX + e] + ewB[ep.offB + e % ep.cols];
    }
  }
}

@compute @workgroup_size(WG)
fn bias_add_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      ewOut2[idx] = ewOut2[idx] + ewA[ep.offB + e % ep.cols];
    }
  }
}

@compute @workgroup_size(WG)
fn relu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      ewOut3[ep.offOut + e] = relu_mask(ewA[ep.offX + e], ewB[ep.offB + e]);
    }
  }
}

// dx is dy: x at 1, dx at 2
@compute @workgroup_size(WG)
fn relu_backward_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let idx = ep.offOut + e;
      ewOut2[idx] = relu_mask(ewA[ep.offX + e], ewOut2[idx]);
    }
  }
}
