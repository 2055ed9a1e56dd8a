"""The formula parser: valid formulas match NumPy; hostile text is refused, promptly, without
running anything."""

from __future__ import annotations

import builtins
import os
import subprocess
import time

import jax.numpy as jnp
import numpy as np
import pytest
from formula_corpus import INJECTIONS, POSITIVE_ONLY, VALID

from surfaces import FormulaError, parse_formula

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(-2.5, 2.5, size=(64, 2)).astype(np.float32)
POSITIVE_POINTS = RNG.uniform(0.2, 2.5, size=(64, 2)).astype(np.float32)


def test_corpora_are_large_enough():
    assert len(VALID) >= 20
    assert len(INJECTIONS) >= 50


@pytest.mark.parametrize("text,reference", VALID, ids=[t for t, _ in VALID])
def test_valid_formula_matches_numpy(text, reference):
    s = parse_formula(text)
    pts = POSITIVE_POINTS if text in POSITIVE_ONLY else POINTS
    x, y = pts[:, 0], pts[:, 1]
    expected = reference(x.astype(np.float64), y.astype(np.float64))
    got = np.asarray(s.fxy(jnp.asarray(x), jnp.asarray(y)))
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # f on one (x, y) point agrees with the grid form
    assert float(s.f(jnp.asarray(pts[0]))) == pytest.approx(float(expected[0]), rel=1e-5, abs=1e-5)
    assert s.latex.strip() and s.latex != "f(x, y) = "
    (x0, x1), (y0, y1) = s.domain
    assert x0 <= s.start[0] <= x1 and y0 <= s.start[1] <= y1


def test_gradient_of_a_parsed_formula():
    s = parse_formula("x**2 + 10*y**2")
    np.testing.assert_allclose(np.asarray(s.grad(jnp.array([1.5, -0.5]))), [3.0, -10.0], rtol=1e-6)


def test_constant_formula():
    s = parse_formula("3")
    assert float(s.f(jnp.array([0.3, -1.2]))) == 3.0
    np.testing.assert_array_equal(np.asarray(s.grad(jnp.array([0.3, -1.2]))), [0.0, 0.0])
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    Z = np.asarray(s.fxy(jnp.asarray(X), jnp.asarray(Y)))
    assert Z.shape == (4, 5) and np.all(Z == 3.0)
    assert float(parse_formula("2*pi").f(jnp.zeros(2))) == pytest.approx(2 * np.pi)


# Modules a hostile formula would import; the parser itself imports none of them (ast.walk does
# import collections, which is why imports are filtered by name).
WATCHED_MODULES = {"os", "sys", "subprocess", "shutil", "socket", "builtins", "importlib"}


class Sentinel:
    """Records calls: if a refused formula ran any of its code, it shows here."""

    def __init__(self):
        self.calls = []

    def recorder(self, name, original=None, watch=lambda *args: True):
        def record(*args, **kwargs):
            if watch(*args):
                self.calls.append((name, args[:1]))
            if original is not None:
                return original(*args, **kwargs)

        return record


@pytest.fixture
def sentinel(monkeypatch):
    s = Sentinel()
    monkeypatch.setattr(builtins, "__import__", s.recorder(
        "__import__", builtins.__import__, lambda name, *a: name.split(".")[0] in WATCHED_MODULES))
    # Builtins that the parser never calls but a formula would.
    for name in ("eval", "exec", "open", "breakpoint", "print", "globals", "locals", "input"):
        monkeypatch.setattr(builtins, name, s.recorder(name, getattr(builtins, name)))
    monkeypatch.setattr(builtins, "__sentinel__", s.recorder("__sentinel__"), raising=False)
    monkeypatch.setattr(os, "system", s.recorder("os.system"))
    monkeypatch.setattr(subprocess, "Popen", s.recorder("subprocess.Popen"))
    return s


@pytest.mark.parametrize("text", INJECTIONS, ids=[repr(t[:40]) for t in INJECTIONS])
def test_hostile_formula_is_refused_without_running_anything(text, sentinel):
    sentinel.calls.clear()  # pytest's own set-up imports are not the formula's doing
    error, start = None, time.perf_counter()
    try:
        parse_formula(text)
    except FormulaError as exc:
        error = exc
    elapsed = time.perf_counter() - start
    calls = list(sentinel.calls)  # snapshot before anything else runs
    assert error is not None, f"{text[:60]!r} was accepted"
    assert calls == []
    # A bound against resource attacks (9**9**9, deep nesting), not a speed benchmark.
    assert elapsed < 1.0, elapsed
    assert str(error).strip()


@pytest.mark.parametrize("bad", [None, 123, b"x**2", ["x"]])
def test_non_text_is_refused(bad):
    with pytest.raises(FormulaError):
        parse_formula(bad)


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)
    with pytest.raises(ValueError):
        parse_formula("foo(x)")


@pytest.mark.parametrize("text,column", [
    ("x + foo(y)", 5),
    ("x + y.real", 5),
    ("sin(x) + bar", 10),
    ("x + ｙ", 5),
    ("x**2 + [y]", 8),
    ("x ^ y", 3),
    ("(x) ^ y", 5),
])
def test_error_names_the_column(text, column):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert info.value.column == column
    assert f"column {column}" in str(info.value)


@pytest.mark.parametrize("domain", [
    ((1.0, 0.0), (0.0, 1.0)),
    ((0.0, 1.0), (2.0, 2.0)),
    ((0.0, float("inf")), (0.0, 1.0)),
    ((float("nan"), 1.0), (0.0, 1.0)),
])
def test_bad_domain_is_refused(domain):
    with pytest.raises(FormulaError, match="domain"):
        parse_formula("x + y", domain=domain)


def test_domain_and_start_are_kept():
    s = parse_formula("x*y", domain=((-1, 2), (0, 5)), start=(1.5, 4.0))
    assert s.domain == ((-1.0, 2.0), (0.0, 5.0)) and s.start == (1.5, 4.0)
    assert s.minima == ()


def test_sentinel_detects_execution(sentinel):
    """Positive control: evaluating a hostile formula would be recorded."""
    eval("__import__('os').getcwd()")  # noqa: S307
    builtins.__sentinel__()
    names = [name for name, _ in sentinel.calls]
    assert names == ["eval", "__import__", "__sentinel__"]
