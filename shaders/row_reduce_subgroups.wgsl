// row_reduce.wgsl's interface on subgroup operations (the device has 'subgroups' and WGSL's
// subgroup_id): sums and maxima over a row are subgroupAdd / subgroupMax instead of trees in
// workgroup memory with a barrier per level. The host picks the team that reduces one row
// (ROW_TEAM) from the row length:
//   0: one invocation per row (short rows): nothing to combine, 256 rows per workgroup;
//   1: one subgroup per row: SUBGROUP_ROWS rows per workgroup, which the subgroups take in
//      turns (row_turns of them when there are fewer subgroups than rows);
//   2: the whole workgroup per row (long rows): subgroup sums, then one value per subgroup.
// Nothing here assumes a subgroup size or how invocations map to subgroups: a subgroup's lanes
// are ranked by subgroupExclusiveAdd among its active invocations, so a subgroup that is not full
// is still right, and subgroup_id / num_subgroups say which subgroup is which.
enable subgroups;
requires subgroup_id;

struct RowIds {
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_id) sg: u32,
  @builtin(num_subgroups) sgCount: u32,
}

//!include row_slot

override ROW_TEAM: u32 = 1u;
/** rows per workgroup with ROW_TEAM 1 (the host takes 256 / the adapter's smallest subgroup) */
override SUBGROUP_ROWS: u32 = 8u;
// rowScratch holds one value per subgroup here (a workgroup has at most WG subgroups)
var<workgroup> subgroupCount: u32;

fn rows_per_group() -> u32 {
  if (ROW_TEAM == 0u) {
    return WG;
  }
  if (ROW_TEAM == 1u) {
    return SUBGROUP_ROWS;
  }
  return 1u;
}

fn row_turns(ids: RowIds) -> u32 {
  if (ROW_TEAM != 1u) {
    return 1u;
  }
  // the count must be workgroup-uniform: the kernel's loop over turns may hold barriers
  if (ids.lid == 0u) {
    subgroupCount = ids.sgCount;
  }
  let count = workgroupUniformLoad(&subgroupCount);
  return (SUBGROUP_ROWS + count - 1u) / count;
}

fn row_slot(ids: RowIds, turn: u32, rows: u32, groupsX: u32) -> RowSlot {
  let group = group_index(ids, groupsX);
  if (ROW_TEAM == 0u) {
    let row = group * WG + ids.lid;
    return RowSlot(row, 0u, 1u, row < rows, group);
  }
  if (ROW_TEAM == 2u) {
    return RowSlot(group, ids.lid, WG, group < rows, group);
  }
  let local = turn * ids.sgCount + ids.sg;
  let row = group * SUBGROUP_ROWS + local;
  // rank among the subgroup's active invocations, and their count
  let lane = subgroupExclusiveAdd(1u);
  let count = subgroupAdd(1u);
  return RowSlot(row, lane, count, local < SUBGROUP_ROWS && row < rows, group);
}

// Adds one value per subgroup (s, the same in all of a subgroup's invocations) over the
// workgroup; every invocation must call it (barriers) and gets the total.
fn sum_over_subgroups(ids: RowIds, s: f32) -> f32 {
  workgroupBarrier();
  if (subgroupElect()) {
    rowScratch[ids.sg] = s;
  }
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < ids.sgCount; i++) {
    t += rowScratch[i];
  }
  return t;
}

fn row_sum(ids: RowIds, slot: RowSlot, v: f32) -> f32 {
  if (ROW_TEAM == 0u) {
    return v;
  }
  let s = subgroupAdd(v);
  if (ROW_TEAM == 1u) {
    return s;
  }
  return sum_over_subgroups(ids, s);
}

// Running max over a lane's slice of one row, NaN-propagating.
fn max_step(m: f32, v: f32) -> f32 {
  return select(m, v, !(v <= m) && m == m);
}

// subgroupMax need not propagate NaN: adding the subgroup's sum of its NaN entries (0 without
// any) does.
fn subgroup_max_nan(v: f32) -> f32 {
  return subgroupMax(v) + subgroupAdd(select(0.0, v, v != v));
}

fn row_max(ids: RowIds, slot: RowSlot, v: f32) -> f32 {
  if (ROW_TEAM == 0u) {
    return v;
  }
  let m = subgroup_max_nan(v);
  if (ROW_TEAM == 1u) {
    return m;
  }
  workgroupBarrier();
  if (subgroupElect()) {
    rowScratch[ids.sg] = m;
  }
  workgroupBarrier();
  var t = -F32_MAX;
  for (var i = 0u; i < ids.sgCount; i++) {
    t = max_step(t, rowScratch[i]);
  }
  return t;
}

// Sum over the whole workgroup, returned to every invocation.
fn group_sum(ids: RowIds, v: f32) -> f32 {
  return sum_over_subgroups(ids, subgroupAdd(v));
}
