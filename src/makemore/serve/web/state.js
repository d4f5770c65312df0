// What the page shows now: the runs, the picked run and view, and what each view keeps.

export const state = {
  runs: [],            // /api/runs
  run: null,           // the picked run's name
  view: "generate",
  generated: [],       // the last generated items
  generatedRun: null,  // ... and the run they came from
  hiddenCurves: new Set(),
};

export function currentRun() {
  return state.runs.find((r) => r.name === state.run);
}
