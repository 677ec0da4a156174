/**
 * Which ncgpu commands a grid cell may run: those that write results.json into --out (so not
 * `metrics`, which has no --out). Commands that checkpoint name the file, so a cell interrupted
 * mid-run (Ctrl-C, a killed worker) resumes from it instead of starting over.
 */
export const CELL_COMMANDS: readonly string[] = [
  'rfm', 'ufm train', 'ufm ode', 'ufm sweep', 'nn depth-sweep', 'nn richness', 'nn svd-nc1',
];

/** checkpoint file inside the cell's --out, for commands that take `--resume PATH` */
export const CHECKPOINT_FILES: Readonly<Record<string, string>> = {
  'ufm train': 'checkpoint.ufm',
  'nn svd-nc1': 'checkpoint.nn',
};

/** Flags the runner sets per cell; a grid file may not set them. */
export const RUNNER_FLAGS: readonly string[] = ['out', 'resume', 'overwrite'];
