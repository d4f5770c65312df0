"""A model as ONNX graphs, with a manifest that says how to drive them:

    init.onnx      tags (B,) int64 -> the state (one output per name in the manifest's "state")
    step.onnx      tokens (B,) int64, the state -> logits (B, V), the next state ("<name>_next")
    forward.onnx   idx (B, seq_len) int64, tags (B,) int64 -> logits (B, seq_len, V)   (not for count
                   models); shorter rows are padded: each position's logits depend on the tokens up
                   to it only
    model.json     the vocabulary, the state's names, which graphs there are, what sampling needs

The batch B is dynamic in every graph, and so is the length of the Transformer's growing cache;
the forward's length is the model's seq_len (a recurrent net's loop is unrolled over it). The graphs come from torch.onnx.export (the torch.export-based exporter) of the model's
stepper (steppers.py) and are checked with onnx.checker; an untagged model's graphs take tags too
(zeros), so every model is driven the same way.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch

from ..errors import UsageError
from ..models import TITLES
from .steppers import Forward, Init, Step, has_forward, stepper

FORMAT = "makemore-onnx"
VERSION = 1
OPSET = 18


def need_onnx():
    """onnx and onnxruntime, or a one-line error saying how to get them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        raise UsageError(f"exporting needs the export extra ({e.name} is missing): pip install 'makemore[export]'") from None
    return onnx, onnxruntime


def example_state(s, B: int = 2):
    """Tags and a state after two steps (so a growing cache has a length the exporter keeps dynamic)."""
    tags = torch.zeros(B, dtype=torch.long)
    state = s.init(tags)
    for _ in range(2):
        state = s(torch.ones(B, dtype=torch.long), *state)[1:]
    return tags, tuple(t.contiguous() for t in state)


def _export(module, args, path: Path, inputs: list[str], outputs: list[str], dynamic: list[dict]) -> None:
    onnx, _ = need_onnx()
    quiet = logging.getLogger("torch.onnx")              # its notes on torchvision's operators, absent here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, args, dynamo=True, opset_version=OPSET, input_names=inputs,
                                        output_names=outputs, dynamic_shapes=tuple(dynamic), verbose=False,
                                        optimize=True, report=False)
    finally:
        quiet.setLevel(level)
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path), full_check=True)


def _dims(s, name: str, B, T) -> dict:
    """The dynamic dimensions of a state tensor: the batch, and the length of a growing cache."""
    return {0: B, 2: T} if name in s.growing else {0: B}


def write_graphs(model, folder: Path, forward: bool = True) -> dict:
    """init.onnx, step.onnx (and, with forward, forward.onnx) of `model` in folder; returns what
    model.json says of them."""
    model = model.cpu().eval()
    s = stepper(model).eval()
    tags, state = example_state(s)
    B = torch.export.Dim("B", min=1, max=1 << 20)
    T = torch.export.Dim("T", min=0, max=model.config.seq_len)
    _export(Init(s), (tags,), folder / "init.onnx", ["tags"], list(s.names), [{0: B}])
    _export(Step(s), (torch.ones_like(tags), *state), folder / "step.onnx", ["tokens", *s.names],
            ["logits", *[f"{n}_next" for n in s.names]],
            [{0: B}, tuple(_dims(s, n, B, T) for n in s.names)])
    graphs = {"init": "init.onnx", "step": "step.onnx", "forward": None}
    if forward and has_forward(model):
        idx = torch.ones(2, model.config.seq_len, dtype=torch.long)
        _export(Forward(model), (idx, tags), folder / "forward.onnx", ["idx", "tags"], ["logits"], [{0: B}, {0: B}])
        graphs["forward"] = "forward.onnx"
    state_spec = [{"name": n, "dtype": str(t.dtype).removeprefix("torch."), "shape": ["B", *t.shape[1:]]}
                  for n, t in zip(s.names, state)]
    for spec in state_spec:
        if spec["name"] in s.growing:
            spec["shape"][2] = "T"
    return {"graphs": graphs, "state": state_spec, "opset": OPSET}


def manifest(run, graphs: dict) -> dict:
    """model.json: the graphs, the vocabulary (index 0 the boundary, as "") and what sampling needs."""
    vocab = run.vocab
    return {"format": FORMAT, "version": VERSION, "type": run.type, "title": TITLES.get(run.type, run.type),
            "vocab": ["", *vocab.chars], "unit": vocab.unit, "boundary": 0, "max_len": run.max_len,
            "reverse": run.reverse, "tags": run.tags, "vocab_size": vocab.size,
            "seq_len": run.model.config.seq_len, **graphs}


def write_onnx(run, folder: Path) -> dict:
    """The ONNX export of a run into folder (which exists and is empty): the graphs and model.json."""
    m = manifest(run, write_graphs(run.model, folder))
    (folder / "model.json").write_text(json.dumps(m, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return m
