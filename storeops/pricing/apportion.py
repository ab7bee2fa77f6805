"""Apportionment of an order-level reduction across the lines it covers (pure).

A reduction is split in proportion to the lines' amounts: every line gets the floor of its
exact share, and the rounding residue (a few cents) goes to the line with the largest amount
(the first of equal ones); if that would take the line below zero, the rest goes to the next
largest, and so on. The parts add up to the reduction exactly, so refunding one line gives back
exactly the share written on it.
"""

from __future__ import annotations


def apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` cents over lines whose amounts are ``weights`` (cents, >= 0).

    Never gives a line more than its amount; ``total`` must not exceed ``sum(weights)``.
    """
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    weight_sum = sum(weights)
    if total > weight_sum:
        raise ValueError(f"cannot take {total} cents off {weight_sum}")
    if total == weight_sum:
        return list(weights)
    parts = [total * w // weight_sum for w in weights]
    residue = total - sum(parts)
    if residue:
        top = weights.index(max(weights))  # the largest line, the first of equal ones
        room = weights[top] - parts[top]
        if room >= residue:  # the usual case: it takes the whole residue
            parts[top] += residue
            return parts
        for i in sorted(range(n), key=lambda k: (-weights[k], k)):
            room = weights[i] - parts[i]
            take = room if room < residue else residue
            parts[i] += take
            residue -= take
            if not residue:
                break
    return parts
