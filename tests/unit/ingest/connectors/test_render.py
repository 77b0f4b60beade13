"""Rendering rows as chunk CSV, and cutting cursor-ordered rows into chunks."""

from __future__ import annotations

import csv
import io
import itertools
import random

import pytest

from scrollintel.ingest.connectors.render import chunk_rows_by_cursor, json_text, rows_to_csv

pytestmark = pytest.mark.unit


def test_null_is_bare_and_empty_string_is_quoted() -> None:
    assert rows_to_csv([("1", None, ""), (None, "a", None)], 3) == b'"1",,""\n,"a",\n'


def test_special_characters_are_quoted_as_copy_reads_them() -> None:
    data = rows_to_csv([('say "hi", then\nleave',), ("\\.",), ("Zoë",)], 1)
    assert data == '"say ""hi"", then\nleave"\n"\\."\n"Zoë"\n'.encode()
    assert [row[0] for row in csv.reader(io.StringIO(data.decode()))] == ['say "hi", then\nleave', "\\.", "Zoë"]


def test_values_the_caller_did_not_render_fall_back_to_text() -> None:
    assert rows_to_csv([(b"\xff\x00", 5), (b"ok", None)], 2) == b'"\\xff00","5"\n"\\x6f6b",\n'


def test_no_rows_is_no_bytes() -> None:
    assert rows_to_csv([], 4) == b""


def test_width_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="zip"):
        rows_to_csv([("a", "b"), ("c",)], 2)


def test_nul_is_kept_for_the_loader_to_quarantine() -> None:
    """Replacing it would change the value without a trace; the loader quarantines the row instead."""
    assert rows_to_csv([("a\x00b",)], 1) == b'"a\x00b"\n'


def test_json_text_is_compact_and_renders_python_values() -> None:
    from datetime import date
    from decimal import Decimal

    assert json_text({"a": [1, None], "é": date(2024, 1, 2), "d": Decimal("1.50"), "b": b"\x01"}) == (
        '{"a":[1,null],"é":"2024-01-02","d":"1.50","b":"\\\\x01"}'
    )


def _rows(keys: list[int]) -> list[tuple[str, str]]:
    return [(str(index), f"{key:04d}") for index, key in enumerate(keys)]


def test_chunks_never_end_inside_a_run_of_equal_cursor_values() -> None:
    rng = random.Random(7)
    for trial in range(200):
        keys = sorted(rng.randint(0, 40) for _ in range(rng.randint(0, 120)))
        rows = _rows(keys)
        size = rng.randint(1, 9)
        batches, start = [], 0
        while start < len(rows):
            step = rng.randint(1, 12)
            batches.append(rows[start : start + step])
            start += step
        chunks = list(chunk_rows_by_cursor(batches, size, key=1))
        assert [row for chunk in chunks for row in chunk] == rows, trial
        for before, after in itertools.pairwise(chunks):
            assert before[-1][1] != after[0][1], (trial, size)
        for chunk in chunks:
            assert len(chunk) <= size or len({row[1] for row in chunk}) == 1, (trial, size, chunk)


def test_a_run_longer_than_a_chunk_is_one_chunk() -> None:
    rows = _rows([1, 2, 2, 2, 2, 2, 3])
    chunks = list(chunk_rows_by_cursor([rows[:2], rows[2:4], rows[4:]], 2, key=1))
    assert [len(chunk) for chunk in chunks] == [1, 5, 1]


def test_without_cursor_chunks_are_cut_at_the_size() -> None:
    rows = _rows([1] * 7)
    assert [len(chunk) for chunk in chunk_rows_by_cursor([rows], 3, key=None)] == [3, 3, 1]


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        list(chunk_rows_by_cursor([[("a",)]], 0, key=None))
