"""ITU-R BS.1770-4 integrated loudness, in numpy alone.

A meter from a library would bring scipy.signal, whose import alone costs about 1.6 s at
the start of every render's kernel. So the meter is ours: the K-weighting pre-filter and
the RLB high-pass (designed for any sample rate with the bilinear transform, which gives
the standard's 48 kHz coefficients), mean squares over 400 ms blocks every 100 ms, an
absolute gate at -70 LUFS and a relative gate 10 LU under the level of what passed it.

The two biquads run as one 4th-order state-space filter over rows of `_ROW` samples:
within a row the output is a matrix product with the filter's impulse response plus the
response to the state the row starts in, and those states follow a linear recurrence
across rows that a prefix scan solves in log2(rows) vectorised steps. That equals a
sample-by-sample IIR to float32 rounding, three times faster than scipy's lfilter
(docs/decisions/audio-figures.md).
"""

from __future__ import annotations

import functools
import math

import numpy as np

#: Blocks are 400 ms long and start every 100 ms (75 % overlap): four steps per block.
_STEPS_PER_SECOND = 10
_STEPS_PER_BLOCK = 4
_ABSOLUTE_GATE = -70.0  # LUFS
_RELATIVE_GATE = -10.0  # LU under the absolutely gated loudness
_OFFSET = -0.691  # BS.1770's constant, so a 997 Hz sine at 0 dBFS reads -3.01 LUFS
#: Samples per row of the block filter: longer rows cost more multiplications, shorter
#: ones more steps of the scan.
_ROW = 64


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of (n,) or (n, ch) samples; -inf if silent.

    Every channel weighs 1.0 (BS.1770's weight for left, right and centre). Less than
    one 400 ms block is refused with a ValueError.
    """
    data = samples if samples.ndim == 2 else samples[:, None]
    steps = _step_energies(data, rate)
    return _gated(steps)


def k_weighted(samples: np.ndarray, rate: int) -> np.ndarray:
    """(n,) samples through BS.1770's K-weighting (pre-filter, then RLB high-pass), float32.

    The filters start at rest, as in a sample-by-sample IIR run from the first sample.
    """
    response, to_state, from_state, carry = _row_filter(rate)
    rows = -(-len(samples) // _ROW)
    padded = np.zeros(rows * _ROW, dtype=np.float32)
    padded[: len(samples)] = samples
    matrix = padded.reshape(rows, _ROW)
    starts = _start_states(matrix @ to_state, carry)
    out = matrix @ response
    out += np.matmul(starts.astype(np.float32), from_state, out=matrix)  # input no longer needed
    return out.reshape(-1)[: len(samples)]


def _step_energies(data: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """K-weighted energy of each 100 ms step summed over channels, and each step's length."""
    edges = np.arange(len(data) * _STEPS_PER_SECOND // rate + 1) * rate // _STEPS_PER_SECOND
    if len(edges) <= _STEPS_PER_BLOCK:
        raise ValueError(
            f"audio: {len(data) / rate:.3f} s is too short to measure loudness; "
            "expected at least 0.4 s"
        )
    energy = np.zeros(len(edges) - 1)
    for channel in data.T:
        filtered = k_weighted(channel, rate)[: edges[-1]]
        energy += np.add.reduceat(np.square(filtered, out=filtered), edges[:-1], dtype=np.float64)
    return energy, np.diff(edges)


def _gated(steps: tuple[np.ndarray, np.ndarray]) -> float:
    """Integrated loudness from step energies: blocks of four steps, gated twice."""
    energy, lengths = steps
    count = len(energy) - _STEPS_PER_BLOCK + 1
    block_energy = sum(energy[k : k + count] for k in range(_STEPS_PER_BLOCK))
    block_length = sum(lengths[k : k + count] for k in range(_STEPS_PER_BLOCK))
    power = block_energy / block_length
    with np.errstate(divide="ignore"):
        levels = _OFFSET + 10 * np.log10(power)
    audible = levels > _ABSOLUTE_GATE
    if not audible.any():
        return -math.inf
    relative = _OFFSET + 10 * np.log10(power[audible].mean()) + _RELATIVE_GATE
    gated = power[audible & (levels > relative)]
    return float(_OFFSET + 10 * np.log10(gated.mean()))


def _start_states(ends: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """The filter's state at the start of every row, (rows, order), from each row's own
    contribution to the state after it (`ends`, starting from rest).

    start[r] = carry @ start[r - 1] + ends[r - 1], solved as a Hillis-Steele scan: after
    the pass with stride s, every start holds the contributions of the 2s rows before it.
    """
    starts = np.zeros(ends.shape, dtype=np.float64)
    starts[1:] = ends[:-1]
    power, stride = carry, 1
    while stride < len(starts):
        starts[stride:] += starts[:-stride] @ power.T
        power, stride = power @ power, stride * 2
    return starts


@functools.lru_cache(maxsize=8)
def _row_filter(rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Matrices of the K-weighting over one row of `_ROW` samples.

    `response` (row x row): output from the row's input; `to_state` (row x order): the
    state after the row from its input; `from_state` (order x row): output from the
    state the row starts in; `carry` (order x order): that state carried over a row.
    """
    a, b, c, d = _cascade(_state_space(*_pre_filter(rate)), _state_space(*_high_pass(rate)))
    powers = [np.eye(len(a))]
    for _ in range(_ROW):
        powers.append(a @ powers[-1])
    impulse = np.array([d] + [c @ powers[k] @ b for k in range(_ROW - 1)])
    lags = np.arange(_ROW)[None, :] - np.arange(_ROW)[:, None]
    response = np.where(lags >= 0, impulse[np.clip(lags, 0, None)], 0.0)
    to_state = np.array([powers[_ROW - 1 - k] @ b for k in range(_ROW)])
    from_state = np.array([c @ powers[k] for k in range(_ROW)]).T
    return (
        response.astype(np.float32),
        to_state.astype(np.float32),
        from_state.astype(np.float32),
        powers[_ROW],
    )


def _pre_filter(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770's high-shelf pre-filter (+4 dB above ~1.7 kHz) at `rate`, as (b, a)."""
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q = 0.7071752369554196
    high = 10 ** (3.999843853973347 / 20)
    band = high**0.4996667741545416
    a0 = 1 + k / q + k * k
    b = np.array([high + band * k / q + k * k, 2 * (k * k - high), high - band * k / q + k * k])
    a = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k])
    return b / a0, a / a0


def _high_pass(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """BS.1770's RLB high-pass (~38 Hz) at `rate`, as (b, a)."""
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    return np.array([1.0, -2.0, 1.0]), np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0


def _state_space(b: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
    """(A, B, C, D) of a biquad in transposed direct form II: s' = As + Bx, y = Cs + Dx."""
    return (
        np.array([[-a[1], 1.0], [-a[2], 0.0]]),
        np.array([b[1] - a[1] * b[0], b[2] - a[2] * b[0]]),
        np.array([1.0, 0.0]),
        b[0],
    )


def _cascade(first: tuple[np.ndarray, ...], second: tuple[np.ndarray, ...]) -> tuple:
    """State space of `first` followed by `second`."""
    a1, b1, c1, d1 = first
    a2, b2, c2, d2 = second
    a = np.block([[a1, np.zeros((len(a1), len(a2)))], [np.outer(b2, c1), a2]])
    return a, np.concatenate([b1, b2 * d1]), np.concatenate([d2 * c1, c2]), d2 * d1
