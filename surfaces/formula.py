"""A user's formula in ``x, y`` turned into a Surface, through a whitelist of Python's AST.

Nothing the user types is ever evaluated by Python: the text is parsed with ``ast.parse``, every
node is checked against the whitelist, and the allowed tree is compiled into closures over
``jax.numpy``.  Constant sub-expressions are folded at parse time so that ``9**9**9`` is refused
as too large instead of being computed.
"""

from __future__ import annotations

import ast
import math
from typing import Callable

import jax
import jax.numpy as jnp

from surfaces.analytic import Surface

MAX_LENGTH = 300
MAX_NODES = 300
MAX_DEPTH = 40
MAX_CONSTANT = 1e12

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}
FUNCTIONS: dict[str, tuple[int, Callable, Callable]] = {
    # name: (arity, JAX function, Python function used to fold constants)
    "sin": (1, jnp.sin, math.sin),
    "cos": (1, jnp.cos, math.cos),
    "tan": (1, jnp.tan, math.tan),
    "exp": (1, jnp.exp, math.exp),
    "log": (1, jnp.log, math.log),
    "sqrt": (1, jnp.sqrt, math.sqrt),
    "abs": (1, jnp.abs, abs),
    "tanh": (1, jnp.tanh, math.tanh),
    "sigmoid": (1, jax.nn.sigmoid, lambda u: 1 / (1 + math.exp(-u))),
    "min": (2, jnp.minimum, min),
    "max": (2, jnp.maximum, max),
}
_BINOPS = {
    ast.Add: (jnp.add, lambda a, b: a + b),
    ast.Sub: (jnp.subtract, lambda a, b: a - b),
    ast.Mult: (jnp.multiply, lambda a, b: a * b),
    ast.Div: (jnp.divide, lambda a, b: a / b),
    ast.Pow: (jnp.power, lambda a, b: a**b),
}
ALLOWED = ("numbers, x, y, pi, e, + - * / ** and parentheses, "
           "and the functions " + ", ".join(FUNCTIONS))


class FormulaError(ValueError):
    """A refused formula; the message says what was refused and at which column (1-based)."""

    def __init__(self, message: str, column: int | None = None):
        self.column = column
        super().__init__(f"column {column}: {message}" if column else message)


def _col(node) -> int | None:
    return getattr(node, "col_offset", -1) + 1 or None


def _describe(node) -> str:
    kinds = {
        ast.Attribute: "attribute access (.)", ast.Lambda: "a lambda", ast.Subscript: "indexing [ ]",
        ast.Compare: "a comparison", ast.BoolOp: "and / or", ast.IfExp: "if / else",
        ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
        ast.DictComp: "a comprehension", ast.SetComp: "a comprehension", ast.List: "a list",
        ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.Starred: "a starred argument",
        ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment (:=)", ast.Await: "await",
        ast.Yield: "yield", ast.BitXor: "^ (use ** for powers)", ast.FloorDiv: "//", ast.Mod: "%",
        ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
        ast.Invert: "~", ast.Not: "not",
    }
    return kinds.get(type(node), type(node).__name__)


class _Node:
    """A checked sub-expression: its JAX closure, its LaTeX, its precedence, and its value if
    it is a constant (folded at parse time)."""

    def __init__(self, fn, latex, prec, value=None):
        self.fn, self.latex, self.prec, self.value = fn, latex, prec, value


_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}
_ATOM = 5


def _constant(value: float, node) -> _Node:
    if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
        raise FormulaError(f"the constant {value:g} is too large (at most {MAX_CONSTANT:g})", _col(node))
    text = f"{value:g}".replace("e+", r"\cdot 10^{").replace("e-", r"\cdot 10^{-")
    if "10^{" in text:
        text += "}"
    return _Node(lambda x, y: value, text, _ATOM, value)


def _fold(fold, args, node) -> _Node | None:
    """Fold a constant sub-expression with Python floats; refuse overflow and domain errors."""
    if any(a.value is None for a in args):
        return None
    try:
        value = fold(*(a.value for a in args))
    except OverflowError:
        raise FormulaError("this constant is too large to compute", _col(node)) from None
    except ZeroDivisionError:
        raise FormulaError("this constant divides by zero", _col(node)) from None
    except ValueError:
        raise FormulaError("this constant is outside its function's domain (e.g. log of a negative "
                           "number)", _col(node)) from None
    if isinstance(value, complex):
        raise FormulaError("the constant part is not a real number", _col(node))
    return _constant(float(value), node)


def _operator_column(node: ast.BinOp, src: str) -> int:
    """The 1-based column of a binary operator: the first character between its operands that
    is not a space or a parenthesis."""
    for i in range(node.left.end_col_offset, node.right.col_offset):
        if src[i] not in " ()":
            return i + 1
    return node.left.end_col_offset + 1


def _paren(n: _Node, min_prec: int) -> str:
    return rf"\left({n.latex}\right)" if n.prec < min_prec else n.latex


def _check(node, depth: int, src: str) -> _Node:
    if depth > MAX_DEPTH:
        raise FormulaError(f"the formula is nested too deeply (at most {MAX_DEPTH} levels)", _col(node))
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(f"{node.value!r} is not a number; allowed: {ALLOWED}", _col(node))
        try:
            value = float(node.value)
        except OverflowError:
            raise FormulaError("the number is too large", _col(node)) from None
        return _constant(value, node)
    if isinstance(node, ast.Name):
        if node.id == "x":
            return _Node(lambda x, y: x, "x", _ATOM)
        if node.id == "y":
            return _Node(lambda x, y: y, "y", _ATOM)
        if node.id in CONSTANTS:
            value = CONSTANTS[node.id]
            return _Node(lambda x, y: value, r"\pi" if node.id == "pi" else "e", _ATOM, value)
        hint = " (it is a function: call it, e.g. sin(x))" if node.id in FUNCTIONS else ""
        raise FormulaError(f"the name {node.id!r} is not allowed{hint}; allowed: {ALLOWED}", _col(node))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        a = _check(node.operand, depth + 1, src)
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        folded = _fold(lambda u: sign * u, [a], node)
        if folded:
            return folded
        op = "-" if sign < 0 else "+"
        return _Node(lambda x, y: sign * a.fn(x, y), f"{op}{_paren(a, 2)}", 3)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _check(node.left, depth + 1, src), _check(node.right, depth + 1, src)
        jfn, pyfn = _BINOPS[type(node.op)]
        folded = _fold(pyfn, [a, b], node)
        if folded:
            return folded
        prec = _PREC[type(node.op)]
        fn = lambda x, y: jfn(a.fn(x, y), b.fn(x, y))  # noqa: E731
        if isinstance(node.op, ast.Div):
            return _Node(fn, rf"\frac{{{a.latex}}}{{{b.latex}}}", _ATOM)
        if isinstance(node.op, ast.Pow):
            return _Node(fn, rf"{_paren(a, _ATOM)}^{{{b.latex}}}", prec)
        if isinstance(node.op, ast.Mult):
            return _Node(fn, rf"{_paren(a, prec)} \cdot {_paren(b, prec)}", prec)
        sym = "+" if isinstance(node.op, ast.Add) else "-"
        return _Node(fn, f"{a.latex} {sym} {_paren(b, prec + (sym == '-'))}", prec)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise FormulaError(f"only the named functions can be called; allowed: {ALLOWED}", _col(node))
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(f"the function {name!r} is not allowed; allowed: {ALLOWED}", _col(node))
        if node.keywords:
            raise FormulaError(f"{name}() takes no keyword arguments", _col(node))
        arity, jfn, pyfn = FUNCTIONS[name]
        if len(node.args) != arity:
            raise FormulaError(f"{name}() takes {arity} argument{'s' * (arity > 1)}, "
                               f"not {len(node.args)}", _col(node))
        args = [_check(a, depth + 1, src) for a in node.args]
        folded = _fold(pyfn, args, node)
        if folded:
            return folded
        fn = lambda x, y: jfn(*(a.fn(x, y) for a in args))  # noqa: E731
        inner = ", ".join(a.latex for a in args)
        latex = {
            "sqrt": rf"\sqrt{{{inner}}}", "abs": rf"\left|{inner}\right|",
            "sigmoid": rf"\sigma\left({inner}\right)", "exp": rf"e^{{{inner}}}",
        }.get(name, rf"\{name}\left({inner}\right)")
        return _Node(fn, latex, _ATOM)
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        where = _operator_column(node, src) if isinstance(node, ast.BinOp) else _col(node)
        raise FormulaError(f"the operator {_describe(node.op)} is not allowed; allowed: {ALLOWED}", where)
    raise FormulaError(f"{_describe(node)} is not allowed; allowed: {ALLOWED}", _col(node))


def parse_formula(text: str, domain=((-3.0, 3.0), (-3.0, 3.0)), start=None) -> Surface:
    """Parse ``text`` (a formula in ``x`` and ``y``) into a Surface on ``domain``.

    Raises FormulaError (a ValueError) with the reason and the column of what was refused."""
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    text = text.strip()
    if not text:
        raise FormulaError("the formula is empty; type an expression in x and y, e.g. x**2 + 10*y**2")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long (at most {MAX_LENGTH})")
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch == " ")):
            raise FormulaError(f"the character {ch!r} (U+{ord(ch):04X}) is not allowed: "
                               "type plain ASCII letters, digits and operators", i + 1)
    (xmin, xmax), (ymin, ymax) = domain
    if not all(map(math.isfinite, (xmin, xmax, ymin, ymax))) or not (xmin < xmax and ymin < ymax):
        raise FormulaError(f"the domain must be finite with min < max, not {domain}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"syntax error: {exc.msg}", exc.offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("the formula is nested too deeply") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise FormulaError(f"the formula has too many parts (at most {MAX_NODES})")
    checked = _check(tree.body, 0, text)
    fxy = checked.fn
    if checked.value is not None:
        value = checked.value
        fxy = lambda x, y: value + 0.0 * x + 0.0 * y  # noqa: E731
    if start is None:
        start = (xmin + 0.8 * (xmax - xmin), ymin + 0.75 * (ymax - ymin))
    return Surface(
        "custom", f"f(x, y) = {text}", fxy, ((float(xmin), float(xmax)), (float(ymin), float(ymax))), (),
        f"f(x, y) = {checked.latex}", tuple(map(float, start)),
    )
