"""Schedule values written as formulas of time and sound, e.g. ``1.0025 + 0.002*sin(t/30)``.

A formula is read with Python's ``ast`` and only numbers, known names, known functions and
arithmetic or comparisons get through; it is then rewritten as a numexpr string and evaluated
for all frames at once. Nothing a config contains is ever handed to Python's ``eval``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numexpr
import numpy as np

MAX_LENGTH = 1000
MAX_DEPTH = 64
MAX_COMPILED = 20_000

TIME_NAMES = ("t", "s", "fps", "max_f", "frames")
SOUND_NAMES = ("level", "bass", "mid", "high", "onset", "beat")
CONSTANTS = {"pi": math.pi, "e": math.e}
_UNARY_FUNCTIONS = (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "sqrt", "exp", "log", "log10", "abs", "floor", "ceil",
)  # fmt: skip
FUNCTIONS = {**{name: 1 for name in _UNARY_FUNCTIONS}, "arctan2": 2, "where": 3, "min": -2, "max": -2}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FORBIDDEN = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.JoinedStr: "strings", ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "mappings", ast.Set: "sets",
    ast.BoolOp: "and/or (use where(...))", ast.IfExp: "if/else (use where(cond, a, b))",
    ast.NamedExpr: "assignments", ast.Starred: "*arguments", ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.Await: "await",
}  # fmt: skip


class ExpressionError(ValueError):
    """A formula that is not allowed or cannot be read; the message says what is allowed."""


def _names_hint() -> str:
    return f"use {', '.join(TIME_NAMES)}, pi, e, or with audio: {', '.join(SOUND_NAMES)}"


@dataclass(frozen=True)
class Expression:
    """A checked formula: its source text, the numexpr text it became, and the names it reads."""

    text: str
    compiled: str = field(repr=False)
    names: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> "Expression":
        quoted = _quote(text)
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression {quoted} is {len(text)} characters; keep it under {MAX_LENGTH}")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise ExpressionError(f"cannot read expression {quoted}; write a formula like 1 + 0.01*sin(t/10)") from None
        names: set[str] = set()
        try:
            compiled = _Emitter(quoted, names).emit(tree, 0)
        except RecursionError:
            raise ExpressionError(f"expression {quoted} is nested too deeply") from None
        if len(compiled) > MAX_COMPILED:
            raise ExpressionError(f"expression {quoted} grows too large when min/max are expanded; simplify it")
        return cls(text, compiled, frozenset(names))

    def evaluate(self, variables: Mapping[str, np.ndarray | float], size: int) -> np.ndarray:
        """Float64 values, one per element of the variable arrays (``size`` of them)."""
        local = {name: variables[name] for name in self.names}
        try:
            with np.errstate(all="ignore"):
                result = numexpr.evaluate(self.compiled, local_dict=local, global_dict={})
        except (KeyError, ValueError, TypeError, OverflowError, ZeroDivisionError, NotImplementedError, RuntimeError) as error:
            raise ExpressionError(f"cannot evaluate {_quote(self.text)} ({error})") from None
        return np.broadcast_to(np.asarray(result, dtype=np.float64), (size,)).copy()


def _quote(text: str) -> str:
    short = text if len(text) <= 60 else text[:57] + "..."
    return '"' + short.replace("\n", " ") + '"'


class _Emitter:
    """Walks the syntax tree, refusing anything not on the allow list, and writes numexpr text."""

    def __init__(self, quoted: str, names: set[str]):
        self.quoted, self.names = quoted, names

    def fail(self, what: str, hint: str = "") -> ExpressionError:
        return ExpressionError(f"{what} in {self.quoted}" + (f"; {hint}" if hint else ""))

    def emit(self, node: ast.AST, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression {self.quoted} is nested more than {MAX_DEPTH} levels deep")

        def sub(child: ast.AST) -> str:
            return self.emit(child, depth + 1)

        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{sub(node.operand)})"
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return f"({sub(node.left)} {_BINARY[type(node.op)]} {sub(node.right)})"
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            sides = [sub(node.left), *(sub(c) for c in node.comparators)]
            parts = [f"({a} {_COMPARE[type(op)]} {b})" for a, op, b in zip(sides, node.ops, sides[1:])]
            return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"
        if isinstance(node, ast.Call):
            return self.call(node, sub)
        kind = next((what for cls, what in _FORBIDDEN.items() if isinstance(node, cls)), None)
        raise self.fail(f"{kind or type(node).__name__.lower() + ' syntax'} not allowed")

    def number(self, value: object) -> str:
        if isinstance(value, str):
            raise self.fail("strings not allowed")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{value!r} not allowed")
        try:
            number = float(value)
        except OverflowError:
            raise self.fail("a number too large") from None
        if not math.isfinite(number):
            raise self.fail("a number too large")
        return repr(number)

    def name(self, name: str) -> str:
        if name in CONSTANTS:
            return repr(CONSTANTS[name])
        if name in TIME_NAMES or name in SOUND_NAMES:
            self.names.add(name)
            return name
        if name in FUNCTIONS:
            raise self.fail(f"function {name!r} without (...)")
        raise self.fail(f"unknown name {name!r}", _names_hint())

    def call(self, node: ast.Call, sub: Callable[[ast.AST], str]) -> str:
        if not isinstance(node.func, ast.Name):
            raise self.fail(f"{_FORBIDDEN.get(type(node.func), 'calling this')} not allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(f"unknown function {name!r}", f"use {', '.join(FUNCTIONS)}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes plain arguments only")
        arity, args = FUNCTIONS[name], [sub(a) for a in node.args]
        if (arity > 0 and len(args) != arity) or (arity < 0 and len(args) < -arity):
            expected = f"{arity}" if arity > 0 else f"at least {-arity}"
            raise self.fail(f"{name}() takes {expected} argument{'s' if arity != 1 else ''}, got {len(args)}")
        if name in ("min", "max"):
            pick = "<" if name == "min" else ">"
            result = args[0]
            for arg in args[1:]:
                result = f"where({result} {pick} {arg}, {result}, {arg})"
                if len(result) > MAX_COMPILED:
                    raise ExpressionError(f"expression {self.quoted} grows too large when min/max are expanded; simplify it")
            return result
        if name == "where" and not isinstance(node.args[0], ast.Compare):
            args[0] = f"({args[0]} != 0)"
        return f"{name}({', '.join(args)})"
