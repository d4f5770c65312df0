"""A GPT-2 style Transformer (Radford et al. 2019), built on the self-attention of Vaswani et al.
(2017), "Attention Is All You Need": token + learned position embeddings, pre-LayerNorm blocks of
causal multi-head self-attention and a GELU MLP, a final LayerNorm and a linear head. With `rope`,
attention also turns each query and key by an angle proportional to its position (rotary position
embedding, Su et al. 2021, "RoFormer"), so a query-key score depends on how far apart the two are.

Training can pack several items into one row (`pos`, `seg` in forward): each token then has its
position within its own item and attends only to the tokens of that item before it, so a packed row
computes exactly what the items would alone, with less padding.

Tagged items: a learned vector per tag is added to every position's input, beside the token and
position embeddings (docs/design.md compares this with a first token for the tag).

Sampling uses a key/value cache: each new token computes its own query, key and value once and
attends over the cached keys and values of the tokens before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .base import SequenceModel, check_fraction, check_positive, check_tags, option, per_position, sequence_loss, tag_table


@dataclass
class TransformerConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n_layer: int = 4
    n_head: int = option(4, "attention heads (transformer)")
    n_embd: int = 64
    dropout: float = 0.0
    bias: bool = option(True, "biases in Linears and LayerNorms (transformer)")
    rope: bool = option(False, "rotary position embedding in attention, besides the learned one (transformer)")
    n_tags: int = 0


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)   # q, k, v at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def heads(self, x, rot=None):
        """Queries, keys and values of x (B, T, C), split into heads (and turned by rot)."""
        B, T, C = x.shape
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, C // self.n_head)          # (B, T, 3, nh, hs): q, k, v
        q, k, v = qkv.unbind(2)                                                      # 3 x (B, T, nh, hs)
        if rot is not None:
            q, k = rotate(qkv[:, :, :2], rot).unbind(2)                              # q and k turned in one go
        return [t.transpose(1, 2) for t in (q, k, v)]                                # 3 x (B, nh, T, hs)

    def merge(self, y):
        """The heads' outputs (B, nh, T, hs) joined and projected back: (B, T, C)."""
        B, nh, T, hs = y.shape
        y = y.transpose(1, 2).contiguous().view(B, T, nh * hs)                       # (B, T, C)
        return self.resid_dropout(self.c_proj(y))

    def forward(self, x, mask=None, rot=None):
        """mask: None for causal attention over the row, else (B, 1, T, T) bool, True = may attend."""
        q, k, v = self.heads(x, rot)                                                # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)  # (B, nh, T, hs)
        return self.merge(y)

    def attention_weights(self, x, rot=None):
        """(B, nh, T, T): how much each position attends to each earlier one, for the input x (B, T, C)."""
        q, k, _ = self.heads(x, rot)                                                 # (B, nh, T, hs) each
        T, hs = q.size(-2), q.size(-1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)                             # (B, nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()          # (T, T)
        return scores.masked_fill(~causal, float("-inf")).softmax(-1)

    def step(self, x, cache, t, rot=None):
        """x (B, 1, C) at position t; cache = (K, V) preallocated (B, nh, seq_len, hs)."""
        q, k, v = self.heads(x, rot)                                                # (B, nh, 1, hs)
        K, V = cache
        K[:, :, t:t + 1] = k
        V[:, :, t:t + 1] = v
        # one query against t+1 keys: the softmax-weighted sum written out, faster on a CPU than
        # scaled_dot_product_attention's kernel for a single query, and equal to it up to rounding
        att = (q * K[:, :, :t + 1]).sum(-1, keepdim=True) / math.sqrt(q.size(-1))   # (B, nh, t+1, 1)
        y = (att.softmax(2) * V[:, :, :t + 1]).sum(2, keepdim=True)                 # (B, nh, 1, hs)
        return self.merge(y)


def rotate(x, rot):
    """Rotary position embedding: x (B, T, ..., hs) queries or keys; rot = (cos, sin) of their
    positions' angles, each (T, ..., hs/2) or (B, T, ..., hs/2). Pair i (the i-th entries of x's two
    halves) turns by the angle pos * 10000^(-2i/hs), so q.k depends on the distance between them."""
    cos, sin = rot
    x1, x2 = x.chunk(2, dim=-1)                                                       # 2 x (..., hs/2)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)            # (..., hs)


class MLP(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))                       # (B, T, C)


class Block(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, mask=None, rot=None):
        x = x + self.attn(self.ln_1(x), mask, rot)
        return x + self.mlp(self.ln_2(x))

    def step(self, x, cache, t, rot=None):
        x = x + self.attn.step(self.ln_1(x), cache, t, rot)
        return x + self.mlp(self.ln_2(x))


class Transformer(SequenceModel):
    packable = True          # forward takes packed rows (pos, seg)
    Config = TransformerConfig
    def __init__(self, config: TransformerConfig):
        super().__init__()
        check_positive(config, "n_layer", "n_head", "n_embd", "seq_len")
        if config.n_embd % config.n_head:
            raise UsageError(f"--n-embd ({config.n_embd}) must be a multiple of --n-head ({config.n_head})")
        if config.rope and (config.n_embd // config.n_head) % 2:
            raise UsageError(f"--rope turns pairs of each head's {config.n_embd // config.n_head} dimensions: "
                             "--n-embd / --n-head must be even")
        check_fraction(config, "dropout")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.seq_len, config.n_embd)
        if config.rope:          # the rotary angles of every position, fixed: a table like wpe, not learned
            hs = config.n_embd // config.n_head
            inv_freq = 10000.0 ** (-torch.arange(0, hs, 2, dtype=torch.float32) / hs)               # (hs/2,)
            angle = torch.arange(config.seq_len, dtype=torch.float32)[:, None] * inv_freq         # (seq_len, hs/2)
            self.register_buffer("rope_cos", angle.cos(), persistent=False)
            self.register_buffer("rope_sin", angle.sin(), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # GPT-2 init: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
        self.wtag = tag_table(config, config.n_embd)                                 # (n_tags, C) or None

    def forward(self, idx, targets=None, pos=None, seg=None, tags=None):
        """idx (B, T). Packed rows: pos (B, T), each token's position in its own item, and seg (B, T),
        the item it belongs to (-1 on padding); a token attends to the earlier tokens of its item.
        tags (B,), or (B, T) for packed rows: each item's tag (a tagged model)."""
        check_tags(self, tags)
        B, T = idx.shape
        if T > self.config.seq_len:
            raise UsageError(f"sequence of {T} tokens is longer than the model's {self.config.seq_len} positions")
        mask = None
        if pos is None:
            pos = torch.arange(T, device=idx.device)                                 # (T,)
        if seg is not None:
            causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()   # (T, T)
            mask = (seg[:, :, None] == seg[:, None, :]) & causal                    # (B, T, T)
            mask = mask[:, None]                                                     # (B, 1, T, T) for all heads
        x = self.wte(idx.long()) + self.wpe(pos)                                     # (B, T, C)
        if tags is not None:
            x = x + per_position(self.wtag, tags)
        x = self.drop(x)
        rot = self._rotation(pos)
        for block in self.blocks:
            x = block(x, mask, rot)
        logits = self.lm_head(self.ln_f(x))                                          # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def _rotation(self, pos):
        """(cos, sin) of the rotary angles at positions pos (T,) or (B, T), or one position t, looked up
        in the fixed tables: (..., T, 1, 1, hs/2) each (at t: (1, 1, hs/2)),
        to broadcast over q and k and the heads in (B, T, 2, nh, hs); None without rope."""
        if not self.config.rope:
            return None
        return self.rope_cos[pos][..., None, None, :], self.rope_sin[pos][..., None, None, :]

    def init_state(self, batch_size: int, device=None, tags=None):
        check_tags(self, tags)
        c = self.config
        shape = (batch_size, c.n_head, c.seq_len, c.n_embd // c.n_head)             # (B, nh, seq_len, hs)
        dtype = self.wte.weight.dtype
        # uninitialized: step writes position t before anything reads it
        state = {"t": 0, "kv": [(torch.empty(shape, device=device, dtype=dtype), torch.empty(shape, device=device, dtype=dtype))
                                for _ in self.blocks]}
        if tags is not None:
            state["tag"] = self.wtag.to(device)[tags.long().to(device)][:, None]     # (B, 1, C) added at every step
        return state

    def step(self, tokens, state):
        t = state["t"]
        if t >= self.config.seq_len:
            raise UsageError(f"position {t} is past the model's {self.config.seq_len} positions")
        x = self.wte(tokens.long())[:, None] + self.wpe.weight[t]                   # (B, 1, C)
        if "tag" in state:
            x = x + state["tag"]
        rot = self._rotation(t)                                                      # (1, 1, hs/2) each
        for block, cache in zip(self.blocks, state["kv"]):
            x = block.step(x, cache, t, rot)
        logits = self.lm_head(self.ln_f(x))[:, 0]                                    # (B, V)
        return logits, {**state, "t": t + 1}

    def select_rows(self, state, rows):
        """The cache of the rows `rows` (B',): only its filled positions are copied (the rest is
        written before it is read)."""
        t = state["t"]
        kv = []
        for cache in state["kv"]:
            new = []
            for K in cache:                                                          # (B, nh, seq_len, hs)
                K2 = K.new_empty(len(rows), *K.shape[1:])                            # (B', nh, seq_len, hs)
                K2[:, :, :t] = K[:, :, :t].index_select(0, rows)
                new.append(K2)
            kv.append(tuple(new))
        if "tag" in state:
            return {"t": t, "kv": kv, "tag": state["tag"].index_select(0, rows)}
        return {"t": t, "kv": kv}
