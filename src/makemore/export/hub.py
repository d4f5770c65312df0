"""A run as a model repository in the layout of the Hugging Face Hub: config.json (the run's own),
model.safetensors (its best weights), metrics.jsonl (its final scores) and README.md, a model card
whose YAML header carries the library, tags, license, data and metrics, and whose prose says what
the model was trained on, how, how well, what it makes and how to load it. The folder is a run:
load_run and every command read it. `huggingface-cli upload NAME FOLDER` puts it on the Hub."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from ..errors import UsageError
from ..explore import curves
from ..models import TITLES
from ..version import __version__

SAMPLES = 1000        # items drawn to measure the share of new ones
SHOWN = 12            # of which the card shows these


def final_scores(run) -> dict:
    """{"train", "val", "test"} NLL in nats per character: the run's final record, or measured now."""
    return curves(run)["final"] or run.evaluate()


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)          # a JSON string is a YAML string


def card(run, scores: dict, items: list[dict], license: str) -> str:
    """README.md: the YAML metadata, then the prose."""
    d = run.config["data"]
    name = Path(str(d["input"]).removeprefix("bundled:")).name
    new = [i["novelty"] for i in items]
    share = new.count("new") / len(new) if "?" not in new else None
    title = TITLES.get(run.type, run.type)
    metrics = [(f"{split} NLL (nats per character)", "nll", scores[split]) for split in ("val", "test") if split in scores]
    metrics += [(f"{split} bits per character", "bpc", scores[split] / math.log(2)) for split in ("val", "test") if split in scores]
    if share is not None:
        metrics.append((f"share of new items among {len(items)} samples", "novelty", share))
    head = ["---", "library_name: makemore", f"license: {license}", "tags:",
            *[f"- {t}" for t in ("makemore", "character-level", "text-generation", run.type)],
            "pipeline_tag: text-generation", "datasets:", f"- {_yaml_str(name)}",
            "dataset_info:", f"  name: {_yaml_str(name)}", f"  sha256: {d['sha256']}",
            "model-index:", f"- name: {_yaml_str(f'makemore {run.type} on {name}')}", "  results:",
            "  - task:", "      type: text-generation", "    dataset:", f"      name: {_yaml_str(name)}",
            f"      type: {_yaml_str(name)}", "    metrics:"]
    for label, kind, value in metrics:
        head += [f"    - name: {_yaml_str(label)}", f"      type: {kind}", f"      value: {value:.4f}",
                 "      verified: false"]
    head.append("---")
    n_params = sum(p.numel() for p in run.model.parameters())
    items_line = ", ".join(f"{d['items'][s]:,} {s}" for s in ("train", "val", "test")) if d.get("items") else "its split"
    train = run.config.get("train", {})
    how = (f"{train['max_steps']:,} steps of {train.get('optimizer', 'adamw')}, batch {train['batch_size']}, "
           f"learning rate {train['lr']} ({train.get('schedule', 'constant')})") if train.get("max_steps") else \
        "counting (a closed-form fit)"
    scores_rows = [f"| {s} | {scores[s]:.4f} | {scores[s] / math.log(2):.4f} |" for s in ("train", "val", "test") if s in scores]
    body = [f"# makemore {title} of {name}", "",
            f"A character-level language model ({title}, {n_params:,} parameters) that makes new items like those of "
            f"`{name}`, one item per line. Made with makemore {__version__}.", "",
            "## Training", "",
            f"- Data: `{name}` (SHA-256 `{d['sha256']}`), {len(d['vocab'])} distinct "
            f"{'grapheme clusters' if d.get('unit') == 'grapheme' else 'characters'}, items of at most {d['max_len']}; "
            f"split {items_line} (seed {d['split_seed']})." + (f" Tags: {', '.join(d['tags'])}." if d.get("tags") else ""),
            f"- Model: `{run.type}` with {json.dumps({k: v for k, v in run.config['model'].items() if k not in ('vocab_size', 'seq_len', 'n_tags')})}.",
            f"- Fit: {how}.", "",
            "## Results", "", "Negative log-likelihood per character on the run's own split:", "",
            "| split | nats | bits |", "|---|---|---|", *scores_rows, ""]
    if share is not None:
        body += [f"Of {len(items)} sampled items, {share:.1%} are new (in none of the file's items).", ""]
    body += ["## Samples", "", *[f"- {i['item']}" + (f" ({i['tag']})" if "tag" in i else "") for i in items[:SHOWN]], "",
             "## Use", "", "With this folder on disk (`pip install makemore`):", "", "```", "makemore sample -o FOLDER -n 20",
             "makemore score -o FOLDER emma", "```", "", "```python", "import makemore as mm",
             "run = mm.load_run(\"FOLDER\")", "print(run.sample(10))", "```", "",
             "Commands that need the training split (eval, diagnose) take the data file with `-i FILE` when it is "
             "not where the run found it.", ""]
    return "\n".join(head) + "\n\n" + "\n".join(body)


def write_hub(run, folder: Path, license: str = "other") -> None:
    if run.type == "ensemble":
        raise UsageError("--format hub: an ensemble's weights are its member runs; export each member run instead")
    if not license or any(c.isspace() for c in license):
        raise UsageError(f"--license must be one word (a license id such as mit or cc-by-4.0), got {license!r}")
    weights = run.dir.weights_file("best")
    if not weights.exists():
        weights = run.dir.weights_file("last")
    shutil.copyfile(run.dir.config_file, folder / "config.json")
    shutil.copyfile(weights, folder / "model.safetensors")
    scores = final_scores(run)
    (folder / "metrics.jsonl").write_text(json.dumps({"final": True, **scores}) + "\n")
    items = run.sample(SAMPLES, seed=0)
    (folder / "README.md").write_text(card(run, scores, items, license), encoding="utf-8")
