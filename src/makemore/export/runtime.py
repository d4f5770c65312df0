"""An exported folder run by ONNX Runtime, behind the model contract's sampling half (init_state,
step, select_rows, forward), so sampling.generate draws from it exactly as from the torch model:
the same seed gives the same items wherever the two models agree."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ..errors import RunError
from .graphs import FORMAT, need_onnx


def read_manifest(folder) -> dict:
    path = Path(folder) / "model.json"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: not an exported model ({getattr(e, 'strerror', None) or e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise RunError(f"{path}: not a makemore ONNX export (format is not {FORMAT!r})")
    return m


class OnnxModel:
    """The graphs of an ONNX export (graphs.py), on ONNX Runtime's CPU provider by default."""

    def __init__(self, folder, providers=("CPUExecutionProvider",), threads: int | None = None):
        _, ort = need_onnx()
        self.folder = Path(folder)
        self.manifest = m = read_manifest(folder)
        self.config = SimpleNamespace(vocab_size=m["vocab_size"], seq_len=m["seq_len"], n_tags=len(m["tags"] or []))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.sessions = {k: ort.InferenceSession(str(self.folder / f), options, providers=list(providers))
                         for k, f in m["graphs"].items() if f}
        self.names = [s["name"] for s in m["state"]]

    def eval(self):
        return self

    def init_state(self, batch_size: int, device=None, tags=None):
        tags = np.zeros(batch_size, np.int64) if tags is None else tags.cpu().numpy().astype(np.int64)
        return self.sessions["init"].run(self.names, {"tags": tags})

    def step(self, tokens, state):
        feed = {"tokens": tokens.cpu().numpy().astype(np.int64), **dict(zip(self.names, state))}
        logits, *state = self.sessions["step"].run(None, feed)
        return torch.from_numpy(logits), state

    def select_rows(self, state, rows):
        rows = rows.cpu().numpy()
        return [np.ascontiguousarray(s[rows]) for s in state]

    def __call__(self, idx, targets=None, tags=None):
        """The full forward (B, T) -> ((B, T, V) logits, None): the forward graph, or (count models) the steps."""
        B, T = idx.shape
        tag_array = np.zeros(B, np.int64) if tags is None else tags.cpu().numpy().astype(np.int64)
        if "forward" in self.sessions:
            padded = np.zeros((B, self.config.seq_len), np.int64)        # causal: padding changes nothing before it
            padded[:, :T] = idx.cpu().numpy()
            out = self.sessions["forward"].run(None, {"idx": padded, "tags": tag_array})[0]
            return torch.from_numpy(out[:, :T]), None
        state = self.init_state(B, tags=tags)
        rows = []
        for t in range(T):
            logits, state = self.step(idx[:, t], state)
            rows.append(logits)
        return torch.stack(rows, 1), None
