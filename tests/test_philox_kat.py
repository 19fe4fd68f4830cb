"""Philox4x32 against Random123's known answers, and _core.bits against the counter layout of
docs/stream-format.md §2 re-derived in pure Python (tests/sow_ref.py)."""

from __future__ import annotations

import numpy as np
import pytest

import sow_ref as ref
from sow import _core


def load_kat():
    rows = []
    for line in (ref.KAT_DIR / "philox4x32.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split()
        assert f[0] == "philox4x32", line
        assert len(f) == 12, line
        rounds = int(f[1])
        words = [int(w, 16) for w in f[2:]]
        rows.append((rounds, tuple(words[0:4]), tuple(words[4:6]), tuple(words[6:10])))
    return rows


KAT = load_kat()


def test_kat_file_complete():
    # Six lines: three inputs (zeros, ones, pi) for each of R = 7 and R = 10.
    assert len(KAT) == 6
    assert sorted(r for r, *_ in KAT) == [7, 7, 7, 10, 10, 10]


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT, ids=[f"R{r}-{c[0]:08x}" for r, c, _, _ in KAT])
def test_core_philox_kat(rounds, ctr, key, expected):
    got = _core.philox4x32(ctr, key, rounds)
    assert tuple(int(v) for v in got) == expected


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT, ids=[f"R{r}-{c[0]:08x}" for r, c, _, _ in KAT])
def test_reference_philox_kat(rounds, ctr, key, expected):
    # The pure-Python Philox used below as the reference must itself reproduce the known answers.
    assert ref.philox4x32(ctr, key, rounds) == expected
    c = [np.array([v], dtype=np.uint64) for v in ctr]
    got = ref.philox4x32_np(*c, *key, rounds=rounds)
    assert tuple(int(v[0]) for v in got) == expected


def test_core_philox_default_rounds_is_10():
    r, ctr, key, expected = next(k for k in KAT if k[0] == 10)
    assert tuple(_core.philox4x32(ctr, key)) == expected


def test_core_philox_random_inputs_match_reference():
    rng = np.random.default_rng(12345)
    for _ in range(200):
        ctr = tuple(int(v) for v in rng.integers(0, 2**32, 4))
        key = tuple(int(v) for v in rng.integers(0, 2**32, 2))
        rounds = int(rng.integers(1, 17))
        assert tuple(_core.philox4x32(ctr, key, rounds)) == ref.philox4x32(ctr, key, rounds)


# (seed, key, domain, start, count): words straddling block boundaries, 64-bit seeds and keys, the
# domain byte, and block indices >= 2^32 (the high counter word) up to the 2^56-element limit.
BITS_CASES = [
    (0, 0, 0, 0, 16),
    (1, 0, 0, 0, 9),
    (0, 1, 0, 0, 9),
    (42, 7, 0, 3, 13),  # unaligned start, crosses blocks
    (42, 7, 1, 3, 13),  # domain 1 (sparse mask)
    (2**64 - 1, 2**64 - 1, 0, 0, 8),
    (0x0123456789ABCDEF, 0xFEDCBA9876543210, 0, 0, 8),  # 64-bit key: both halves used
    (0x0123456789ABCDEF, 0xFEDCBA9876543210, 1, 1, 7),
    (5, 0xDEADBEEF00000000, 0, 0, 4),  # key with zero low half
    (5, 0x00000000DEADBEEF, 0, 0, 4),
    (0xFFFFFFFF00000000, 3, 0, 0, 4),  # seed with zero low half
    (9, 11, 0, 4 * (2**32) - 2, 8),  # crosses block 2^32 - 1 -> 2^32
    (9, 11, 0, 4 * (2**32 + 12345) + 1, 6),  # large block index
    (9, 11, 1, 4 * (2**40 + 3), 5),
    (9, 11, 0, 4 * (2**54) - 5, 5),  # last words of a 2^56-element float32 tensor (block < 2^54)
    (9, 11, 0, 2**57 - 5, 5),  # last words of a 2^56-element float64 tensor
]


@pytest.mark.parametrize("seed,key,domain,start,count", BITS_CASES)
def test_core_bits_matches_counter_layout(seed, key, domain, start, count):
    got = _core.bits(seed, key, domain, start, count)
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.uint32
    assert got.shape == (count,)
    expected = ref.stream_words_py(seed, key, domain, start, count)
    assert [int(v) for v in got] == expected


def test_core_bits_explicit_layout():
    # Spelled out once without the helper: word w is word w%4 of Philox(ctr(b=w//4), key(seed)).
    seed, key, domain = 0xA5A5A5A5_5A5A5A5A, 0x1122334455667788, 1
    b = 2**33 + 7
    ctr = (b & 0xFFFFFFFF, (b >> 32) | (domain << 24), 0x55667788, 0x11223344)
    k = (0x5A5A5A5A, 0xA5A5A5A5)
    expected = ref.philox4x32(ctr, k, 10)
    got = _core.bits(seed, key, domain, 4 * b, 4)
    assert tuple(int(v) for v in got) == expected


def test_core_bits_long_run_matches_vectorised_reference():
    start = 4 * (2**32 - 1000) + 1
    got = _core.bits(77, 2**63 + 1, 0, start, 20001)
    np.testing.assert_array_equal(got, ref.stream_words(77, 2**63 + 1, 0, start, 20001))


def test_core_bits_domains_differ():
    a = _core.bits(3, 4, 0, 0, 64)
    b = _core.bits(3, 4, 1, 0, 64)
    assert not np.array_equal(a, b)
    assert np.count_nonzero(a == b) < 4


def test_core_bits_count_zero():
    got = _core.bits(1, 2, 0, 0, 0)
    assert got.shape == (0,) and got.dtype == np.uint32
