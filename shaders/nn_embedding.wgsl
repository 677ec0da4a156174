// Token + position embedding (src/nn), ids stored as f32:
//   embed_forward: out[r, :] = table[ids[r], :] + positions[(row0 + r) % seqLen, :]; an id that is
//                  not an integer in 0..vocab-1 gives a row of NaN (never a silently wrong row)
//   one_hot:       onehot[r, v] = (ids[r] == v), r < rows: the backward is the GEMM onehot^T dy
// forward: ids at 1, table at 2, positions at 3, out at 4. one_hot: ids at 1, onehot at 2.

struct EmbedParams {
  count: u32,
  cols: u32,
  seqLen: u32,
  vocab: u32,
  offIds: u32,
  offTable: u32,
  offPos: u32,
  offOut: u32,
  row0: u32,
  groupsX: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> ep: EmbedParams;
@group(0) @binding(1) var<storage, read> eIds: array<f32>;
@group(0) @binding(2) var<storage, read> eTable: array<f32>;
@group(0) @binding(3) var<storage, read> ePos: array<f32>;
@group(0) @binding(4) var<storage, read_write> eOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> eOneHot: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * ep.groupsX + wg.x) * (WG * PER_THREAD) + lid;
}

fn nan() -> f32 {
  // 0/0 folded at run time: WGSL rejects a constant NaN
  let zero = f32(ep.pad0);
  return zero / zero;
}

@compute @workgroup_size(WG)
fn embed_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let r = e / ep.cols;
      let c = e % ep.cols;
      let id = eIds[ep.offIds + r];
      var v = nan();
      if (id >= 0.0 && id < f32(ep.vocab) && id == floor(id)) {
        let t = (ep.row0 + r) % ep.seqLen;
        v = eTable[ep.offTable + u32(id) * ep.cols + c] + ePos[ep.offPos + t * ep.cols + c];
      }
      eOut[ep.offOut + e] = v;
    }
  }
}

// count = rows * vocab entries of the one-hot block; cols holds vocab here
@compute @workgroup_size(WG)
fn one_hot(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < ep.count) {
      let r = e / ep.vocab;
      let v = e % ep.vocab;
      eOneHot[ep.offOut + e] = select(0.0, 1.0, eIds[ep.offIds + r] == f32(v));
    }
  }
}
