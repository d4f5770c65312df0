"""The data path: read items, build the vocabulary, split, encode.

    lines --read_input--> items --Vocab(items.chars())--> vocab (index 0 = item boundary, then sorted chars)
          --split_order(seed)--> train / val / test rows
          --encode_rows--> X, Y  int tensors (N, L+1):  X = [0, c1..cn, 0...]   Y = [c1..cn, 0, -1...]

-1 in Y means "no target here"; every loss uses ignore_index=-1. The boundary is a reserved
token, not the character '.', so items such as "amazon.com" round-trip; it is *shown* as '.'.

Items are held as one flat array of code points and each item's offset in it (`Items`), never as
one Python string per item, and they are validated, split and encoded by array operations (what
that costs at ten million lines is in docs/results.md); `Items.words()` gives the strings.

The package: reading.py (reading and checking), encoding.py (the vocabulary and encoding),
split.py (the split and the Dataset), lookup.py (which part of the split an item is in);
everything is importable from makemore.data.
"""

from __future__ import annotations

from ..errors import DataError, UsageError  # noqa: F401  (the errors the data path raises)
from .reading import BUNDLED, BUNDLED_TAGGED, bundled_locales, graphemes, nfc, CHUNK, CONTROL, ROWS, Input, Items, MAX_BYTES, WHITESPACE, bundled_names, check_read_options, dedupe_items, dedupe_words, padded, parse_items, read_input, read_words, recorded_path, resolve_input  # noqa: F401
from .encoding import BOUNDARY, BOUNDARY_SHOWN, UNITS, Vocab, split_units, context_windows, encode_rows, encode_words, token_dtype  # noqa: F401
from .split import Dataset, SPLITS, Split, build_dataset, head_rows, reverse_split, split_bounds, split_order, split_words  # noqa: F401
from .tags import TaggedItems, dedupe_tagged, few_items, read_tagged  # noqa: F401
from .lookup import ItemIndex, row_hashes  # noqa: F401
