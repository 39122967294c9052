"""The n-gram baseline the midi models must beat on held-out data (train.py, bench/midi.py)."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def trigram_nll(train: Sequence[Sequence[int]], held: Sequence[Sequence[int]],
                lambdas: Sequence[tuple[float, float, float]] = ((0.6, 0.3, 0.08), (0.4, 0.4, 0.15), (0.2, 0.5, 0.25),
                                                                  (0.7, 0.2, 0.08), (0.5, 0.35, 0.1))) -> float:
    """Interpolated (Jelinek-Mercer) trigram on the same symbols, NLL in nats per predicted symbol
    (the first symbol of each sequence, like the models' start token, is not predicted). The best
    of a few weightings on the held-out data is reported, which favours the baseline."""
    uni, bi, tri = Counter(), Counter(), Counter()
    ctx1, ctx2 = Counter(), Counter()
    vocab = set()
    for seq in train:
        for i, s in enumerate(seq):
            vocab.add(s)
            if i == 0:
                continue
            uni[s] += 1
            bi[(seq[i - 1], s)] += 1
            ctx1[seq[i - 1]] += 1
            if i >= 2:
                tri[(seq[i - 2], seq[i - 1], s)] += 1
                ctx2[(seq[i - 2], seq[i - 1])] += 1
    for seq in held:
        vocab.update(seq)
    n_uni = sum(uni.values())
    size = max(len(vocab), 1)
    best = float("inf")
    for l3, l2, l1 in lambdas:
        l0 = max(1e-6, 1.0 - l3 - l2 - l1)
        total, count = 0.0, 0
        for seq in held:
            for i in range(1, len(seq)):
                s = seq[i]
                p = l0 / size + l1 * uni[s] / max(1, n_uni)
                c1 = ctx1[seq[i - 1]]
                p += l2 * (bi[(seq[i - 1], s)] / c1 if c1 else uni[s] / max(1, n_uni))
                if i >= 2:
                    c2 = ctx2[(seq[i - 2], seq[i - 1])]
                    p += l3 * (tri[(seq[i - 2], seq[i - 1], s)] / c2 if c2 else (bi[(seq[i - 1], s)] / c1 if c1 else uni[s] / max(1, n_uni)))
                else:
                    p += l3 * (bi[(seq[i - 1], s)] / c1 if c1 else uni[s] / max(1, n_uni))
                total -= math.log(p)
                count += 1
        best = min(best, total / max(1, count))
    return best
