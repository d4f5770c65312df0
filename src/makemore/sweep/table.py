"""What a sweep shows: the trials table and the two figures (history.png, importance.png)."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import RunError, first_line
from ..files import atomic_write
from .space import format_value
from .storage import open_storage, optuna_module, read_record, storage_url


def trial_row(t) -> dict:
    """One trial as a row: number, state, val (its best; a pruned trial's last), step, seconds,
    params, host, run directory and a note (its error, or why it failed)."""
    steps = sorted(t.intermediate_values)
    val = t.value if t.value is not None else (t.intermediate_values[steps[-1]] if steps else None)
    note = t.user_attrs.get("error") or ("interrupted" if t.user_attrs.get("interrupted") else
                                          "lost: its worker stopped" if t.state.name == "FAIL" else None)
    return {"number": t.number, "state": t.state.name, "val": val, "step": steps[-1] if steps else None,
            "seconds": t.duration.total_seconds() if t.duration else None, "params": dict(t.params),
            "host": t.user_attrs.get("host"), "run": t.user_attrs.get("run"), "note": note}


def table_rows(study) -> list[dict]:
    return [trial_row(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]


def _seconds(s: float) -> str:
    return f"{s:.1f}" if s < 10 else f"{s:,.0f}"


def format_row(row: dict) -> str:
    """One line of a trial: what each worker prints as its trial ends."""
    val = "-" if row["val"] is None else f"{row['val']:.4f}"
    params = " ".join(f"{k}={format_value(v)}" for k, v in row["params"].items())
    secs = "" if row["seconds"] is None else f"  {_seconds(row['seconds'])} s"
    return f"trial {row['number']:>4}  {row['state']:<8}  val {val}  {params}{secs}" + \
        (f"  ({row['note']})" if row["note"] else "")


def format_table(rows: list[dict], best: int | None = None) -> str:
    """The trials table: number (* the best), state, val, last evaluated step, seconds, each param."""
    names = list(dict.fromkeys(k for r in rows for k in r["params"]))
    head = ["trial", "state", "val", "step", "seconds"] + names + ["note"]
    body = [[f"{r['number']}{'*' if r['number'] == best else ''}", r["state"],
             "-" if r["val"] is None else f"{r['val']:.4f}", "-" if r["step"] is None else f"{r['step']:,}",
             "-" if r["seconds"] is None else _seconds(r["seconds"])]
            + [format_value(r["params"].get(k)) for k in names] + [r["note"] or ""] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [head, *body])


def _save_figure(ax, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig = ax.figure
    fig.set_size_inches(8, 5)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)
    return path


def importance_evaluator():
    """PED-ANOVA: it needs nothing beyond optuna and numpy, where Optuna's fANOVA and mean
    decrease impurity evaluators need scikit-learn, which the sweep extra does not install."""
    optuna = optuna_module()
    return optuna.importance.PedAnovaImportanceEvaluator()


def show(out, storage: str | None = None) -> dict:
    """The trials of the sweep in `out` (rows, the best, the parameters' importances) and its two
    figures, written beside it: history.png (val of every trial, and the best so far) and
    importance.png (how much each option mattered to val)."""
    optuna = optuna_module()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis
    out = Path(out)
    record = read_record(out)
    if record is None:
        raise RunError(f"{out}: not a sweep directory (no sweep.json); start one with `makemore sweep -o {out}`")
    store = open_storage(storage_url(out, storage, record), out)
    try:
        study = optuna.load_study(study_name=record["study"], storage=store)
    except KeyError:
        raise RunError(f"{out}: the study {record['study']!r} is not in {record['storage']}") from None
    rows = table_rows(study)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = min(complete, key=lambda r: r["val"]) if complete else None
    def note(text):                                  # a figure that says why it has nothing to draw
        fig, ax = plt.subplots()
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return ax

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # matplotlib's, about an empty legend
        ax = vis.plot_optimization_history(study) if complete else note("no completed trial yet")
        ax.set(title=f"sweep {record['study']!r}: {record['type']} trials", ylabel="val (nats/char)")
        history = _save_figure(ax, out / "history.png")
        importances, why = {}, f"{len(complete)} completed trial(s): importances need two or more"
        if len(complete) >= 2:
            try:
                importances = optuna.importance.get_param_importances(study, evaluator=importance_evaluator())
                ax, why = vis.plot_param_importances(study, evaluator=importance_evaluator()), None
                ax.set(title=f"sweep {record['study']!r}: what mattered to val (PED-ANOVA)")
            except (ValueError, RuntimeError) as e:
                why = first_line(e)
        importance = _save_figure(ax if why is None else note(f"no importances: {why}"), out / "importance.png")
    return {"out": str(out), "study": record["study"], "type": record["type"], "storage": record["storage"],
            "rows": rows, "best": best, "importances": importances, "importance_note": why,
            "history": str(history), "importance": str(importance)}


def report(summary: dict) -> str:
    """What `makemore sweep` prints: the trials table, the best trial, and where things are."""
    rows, best = summary["rows"], summary["best"]
    states = {s: sum(r["state"] == s for r in rows) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
    lines = [f"study {summary['study']!r} in {summary['storage']}: {len(rows)} trials, "
             + ", ".join(f"{n} {s.lower()}" for s, n in states.items() if n),
             format_table(rows, best["number"] if best else None)]
    if summary.get("importances"):
        lines.append("importance: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items()))
    if best is None:
        lines.append("no trial has completed yet")
    else:
        where = Path(summary["out"]) / "best"
        lines.append(f"best: trial {best['number']}, val {best['val']:.4f} ("
                     + " ".join(f"{k}={format_value(v)}" for k, v in best["params"].items()) + ")")
        lines.append(f"use it: makemore eval -o {where}  (sample, score and serve take it too)"
                     if (where / "config.json").exists() else f"its run directory: {best['run']} on {best['host']}")
    if "history" in summary:
        lines.append(f"saved {summary['history']}, {summary['importance']}")
    return "\n".join(lines)
