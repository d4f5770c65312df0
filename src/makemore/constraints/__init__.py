"""Constrained generation: items that end in a suffix, hold or avoid substrings, have a length in
bounds, match a pattern or are not in the training file, every one satisfied by construction and
drawn from the model's own distribution conditioned on the constraints, p(item | constraints),
not a distortion of it.

- automaton.py: the controls compiled into one automaton, and which token may come next;
- trie.py: the training items as a trie, for `--new`;
- exact.py: the count models' exact draws (a backward pass over context x automaton state x length);
- smc.py: sequential Monte Carlo for every other model;
- sample.py: the entry points.
"""

from .automaton import Automaton
from .exact import Exact, backward, chains
from .sample import CONSTRAINTS, PARTICLES, sample_constrained, sample_under
from .smc import Guide, smc
from .trie import Trie, trie_of

__all__ = ["Automaton", "CONSTRAINTS", "Exact", "Guide", "PARTICLES", "Trie", "backward", "chains", "sample_constrained",
           "sample_under", "smc", "trie_of"]
