"""Every figure, as a PNG drawn on a Figure of its own (matplotlib's object API, no pyplot): no
display is needed, and the backend a notebook or a script has chosen is left as it is."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

from .files import atomic_write  # noqa: E402

CJK_FONT_HINTS = ("CJK", "WenQuanYi", "Noto Sans SC", "Noto Sans TC", "Noto Sans JP", "Source Han", "Droid Sans Fallback",
                  "AR PL", "Unifont")


def _covers(font_path: str, chars) -> bool:
    from matplotlib.ft2font import FT2Font
    try:
        cmap = FT2Font(font_path).get_charmap()
    except Exception:
        return False
    return all(ord(c) in cmap for c in chars)


def _fallback_fonts() -> list:
    """Installed fonts to draw what DejaVu Sans cannot, CJK ones first; never a "last resort"
    font, whose every glyph is a box."""
    fonts = [f for f in font_manager.fontManager.ttflist if "last resort" not in f.name.lower()]
    hinted = [f for f in fonts if any(h.lower() in f.name.lower() for h in CJK_FONT_HINTS)]
    hinted.sort(key=lambda f: not any(t in f.name for t in (" SC", " CN", "Hans")))   # simplified Chinese first
    return hinted + [f for f in fonts if f not in hinted]


def use_fonts_for(labels) -> None:
    """Make labels in any script render: add an installed font that covers them as a fallback
    after DejaVu Sans, or warn once that some will show as boxes. Fonts installed after
    matplotlib made its font cache are looked for too."""
    chars = {c for label in labels for c in label if not c.isspace()}
    default = font_manager.findfont("DejaVu Sans")
    missing = {c for c in chars if not _covers(default, c)}
    if not missing:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
        return
    for attempt in range(2):
        for f in _fallback_fonts():
            if _covers(f.fname, missing):
                matplotlib.rcParams["font.family"] = ["DejaVu Sans", f.name]
                return
        if attempt == 0:                               # a font installed since the cache was made
            known = {f.fname for f in font_manager.fontManager.ttflist}
            for path in font_manager.findSystemFonts():
                if path not in known:
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError, ValueError):
                        pass
    print(f"warning: no installed font has {len(missing)} of the label characters (e.g. {sorted(missing)[0]!r}); "
          "they will show as boxes. On Debian/Ubuntu: apt-get install fonts-noto-cjk", file=sys.stderr)


def _figure(size: tuple, dpi: int, rows: int = 1, cols: int = 1):
    """(figure, axes) on a Figure of its own, which nothing keeps once it is saved."""
    fig = Figure(figsize=size, dpi=dpi)
    return fig, fig.subplots(rows, cols)


def _save(fig, path) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=fig.dpi, format="png"))
    return path


def bigram_heatmap(counts, labels: list[str], path, title: str) -> Path:
    """The first lecture's grid: cell (row, col) holds the pair row+col and its count."""
    use_fonts_for(labels)
    V = len(labels)
    size = max(6.0, 0.6 * V)
    fig, ax = _figure((size, size), 80)
    ax.imshow(counts, cmap="Blues")
    for i in range(V):
        for j in range(V):
            ax.text(j, i, labels[i] + labels[j], ha="center", va="bottom", color="gray", fontsize=8)
            ax.text(j, i, f"{int(counts[i][j])}", ha="center", va="top", color="gray", fontsize=7)
    return _grid_done(fig, ax, labels, ("next character", "previous character"), title, path)


def _grid_done(fig, ax, labels, axes: tuple[str, str], title: str, path, rotate: int = 0) -> Path:
    """A square grid figure's ticks (one per label on both axes), its axis names (x, y) and title, saved."""
    ax.set_xticks(range(len(labels)), labels, rotation=rotate)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def confusion_plot(confusion, labels: list[str], path, title: str) -> Path:
    """A classifier's confusion matrix: row the true tag, column the predicted one, each row
    coloured by its share (so small tags show as clearly as large ones), each cell its count."""
    use_fonts_for(labels)
    counts = np.asarray(confusion, dtype=float)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    K = len(labels)
    size = max(5.0, 0.55 * K + 2)
    fig, ax = _figure((size, size), 90)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(K):
        for j in range(K):
            if counts[i, j]:
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    return _grid_done(fig, ax, labels, ("predicted tag", "true tag"), title, path, rotate=90)


def loss_curves(runs: list[tuple[str, list[dict]]], path, window: int = 1) -> Path:
    """log10 of the training loss (each point a mean over a log interval, further averaged over
    `window` points) with the periodic val evaluations, one colour per run."""
    fig, ax = _figure((9, 5), 100)
    for k, (label, recs) in enumerate(runs):
        color = f"C{k}"
        tr = [(r["step"], r["loss"]) for r in recs if "loss" in r]
        if tr:
            steps, losses = zip(*tr)
            n = max(1, window)
            steps = [steps[min(i + n - 1, len(steps) - 1)] for i in range(0, len(steps), n)]
            losses = [sum(losses[i:i + n]) / len(losses[i:i + n]) for i in range(0, len(losses), n)]
            ax.plot(steps, [math.log10(v) for v in losses], color=color, alpha=0.8, label=f"{label} train")
        va = [(r["step"], r["val"]) for r in recs if "val" in r and not r.get("final")]
        if va:
            steps, vals = zip(*va)
            ax.plot(steps, [math.log10(v) for v in vals], "o--", color=color, label=f"{label} val")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(loss)  [nats/char]")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("training loss")
    fig.tight_layout()
    return _save(fig, path)


def lr_find_plot(lrs, losses, smoothed, suggestion: float, path) -> Path:
    fig, ax = _figure((8, 5), 100)
    x = [math.log10(v) for v in lrs]
    ax.plot(x, losses, alpha=0.3, label="loss")
    ax.plot(x, smoothed, label="smoothed")
    ax.axvline(math.log10(suggestion), color="C3", ls="--", label=f"suggested lr {suggestion:.3g}")
    ax.set_xlabel("log10(learning rate)")
    ax.set_ylabel("loss [nats/char]")
    ax.set_title("learning-rate finder: one step per rate, rates growing exponentially")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def embeddings_plot(points, labels: list[str], path, title: str) -> Path:
    use_fonts_for(labels)
    fig, ax = _figure((8, 8), 100)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    ax.scatter(xs, ys, s=200)
    for x, y, label in zip(xs, ys, labels):
        ax.text(x, y, label, ha="center", va="center", color="white", fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def loss_summary(curves: list) -> str:
    """One line per run of `loss_curves`' input: the last training loss and the best val."""
    lines = []
    for name, records in curves:
        val = [r for r in records if "val" in r and not r.get("final")]
        best = min(val, key=lambda r: r["val"]) if val else None
        last = [r for r in records if "loss" in r]
        lines.append((f"{name}: last train loss {last[-1]['loss']:.4f} at step {last[-1]['step']:,}" if last else name)
                     + (f" | best val {best['val']:.4f} at step {best['step']:,}" if best else ""))
    return "\n".join(lines)


def _hist_panel(ax, items, key, title, label_key):
    for it in items:
        h = it[key]
        ax.plot(h["centers"], h["fraction"], label=it[label_key])
    ax.set_title(title)
    if items:
        ax.legend(fontsize=7)


def diagnose_plot(stats: dict, updates: dict | None, path) -> Path:
    """The lecture's four panels: activations, activation gradients, weight gradients, update ratios."""
    fig, axes = _figure((14, 9), 80, 2, 2)
    tanh = [dict(t, label=f"{t['layer']} ({t['saturated_pct']:.1f}% sat.)") for t in stats["tanh"]]
    _hist_panel(axes[0, 0], tanh, "hist", "activation distribution (tanh outputs)", "label")
    _hist_panel(axes[0, 1], stats["tanh"], "grad_hist", "gradient distribution (d loss / d tanh output)", "layer")
    w = [dict(x, label=f"{x['param']} {tuple(x['shape'])} g:d {x['grad_data_ratio']:.2e}") for x in stats["weights"]]
    _hist_panel(axes[1, 0], w, "hist", "weight gradient distribution", "label")
    ax = axes[1, 1]
    if updates and updates["steps"]:
        for name, ratios in updates["ratios"].items():
            ax.plot(updates["steps"], ratios, label=name)
        ax.axhline(-3, color="k", ls="--", label="-3")
        ax.set_xlabel("step")
        ax.set_ylabel("log10(std(update) / std(data))")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "update:data ratios are recorded while training\nwith `makemore train --track-updates`",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_title("update:data ratio over training")
    fig.tight_layout()
    return _save(fig, path)
