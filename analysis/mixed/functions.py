"""Functions inside model formulas: ``I()``, ``log()``, ``exp()``, ``sqrt()``, ``scale()``,
``poly(x, k)`` and (outcome only) ``cbind(successes, failures)``, as R's ``model.frame``
evaluates them (R Core, *An Introduction to R*, sec. 11.1; Chambers & Hastie 1992).

A call becomes a derived column named as R deparses it, so coefficients read as lme4 prints
them: ``log(TICKS + 1)``, ``I(Days^2)``, ``scale(HEIGHT)``, ``poly(Days, 2)1``,
``poly(Days, 2)2``.  ``scale(x)`` is (x - mean) / sd (sd with n - 1, missing values ignored,
as ``base::scale``); ``poly(x, k)`` gives R's orthogonal polynomials (``stats::poly``: the
columns of [1, x, ..., x^k] centred and orthonormalised in order, the constant dropped).
Their means, sds and polynomial coefficients are kept from the fitted data for
``predict`` (R's ``makepredictcall``).  Any other function is an InputError.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputError

OFFERED = "I(), log(), log2(), log10(), log1p(), exp(), sqrt(), abs(), scale(), poly(x, k)"
_UNARY = {"log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "exp": np.exp,
          "sqrt": np.sqrt, "abs": np.abs}
_BINARY_SPACED = {"+", "-", "*"}


def unknown_function(name: str) -> InputError:
    return InputError(f"formula: the function '{name}()' is not offered in formulas",
                      hint=f"offered: {OFFERED}; otherwise make the transformed column first "
                           f"and use its name")


# --------------------------------------------------------------------------- expression trees

@dataclass
class Node:
    kind: str                 # num, var, op, neg, call
    value: str = ""
    args: list = field(default_factory=list)

    def text(self) -> str:
        """R's deparse: spaces around + - *, none around / and ^, ', ' between arguments."""
        if self.kind in ("num", "var"):
            return self.value if self.kind == "num" or _plain(self.value) else f"`{self.value}`"
        if self.kind == "neg":
            return "-" + self.args[0].text()
        if self.kind == "paren":
            return "(" + self.args[0].text() + ")"
        if self.kind == "op":
            sep = f" {self.value} " if self.value in _BINARY_SPACED else self.value
            return self.args[0].text() + sep + self.args[1].text()
        return f"{self.value}(" + ", ".join(a.text() for a in self.args) + ")"

    def variables(self) -> list[str]:
        if self.kind == "var":
            return [self.value]
        out: list[str] = []
        for a in self.args:
            out += [v for v in a.variables() if v not in out]
        return out


def _plain(name: str) -> bool:
    import re
    return re.fullmatch(r"[A-Za-z.][A-Za-z0-9_.]*", name) is not None


class ExprParser:
    """Arithmetic inside a call, over the formula tokens: + - < * / < unary - < ^."""

    def __init__(self, tokens, i, error):
        self.tokens, self.i, self.error = tokens, i, error

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _left_assoc(self, operand, ops: tuple[str, ...]) -> Node:
        """``operand (op operand)*`` for operators of one precedence, grouped to the left."""
        left = operand()
        while self.peek().kind == "op" and self.peek().text in ops:
            op = self.take().text
            left = Node("op", op, [left, operand()])
        return left

    def sum(self) -> Node:
        return self._left_assoc(self.product, ("+", "-"))

    def product(self) -> Node:
        return self._left_assoc(self.unary, ("*", "/"))

    def unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().text == "-":
            self.take()
            return Node("neg", args=[self.unary()])
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            return Node("op", "^", [base, self.unary()])
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Node("num", tok.text)
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(tok)
            return Node("var", tok.text)
        if tok.kind == "op" and tok.text == "(":
            inner = self.sum()
            self.expect(")")
            return Node("paren", args=[inner])
        raise self.error(f"unexpected '{tok.text or 'end of formula'}'", tok)

    def call(self, name_tok) -> Node:
        self.take()  # (
        args = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            args.append(self.sum())
            while self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                args.append(self.sum())
        self.expect(")")
        node = Node("call", name_tok.text, args)
        check_call(node)
        return node

    def expect(self, text):
        tok = self.take()
        if tok.text != text:
            self.error(f"'{text}' expected, found '{tok.text or 'end of formula'}'", tok)


def check_call(node: Node, top: bool = False) -> None:
    name, n = node.value, len(node.args)
    if name in _UNARY or name in ("I", "scale"):
        if n != 1:
            raise InputError(f"formula: {name}() takes one argument here, found {n} in '{node.text()}'",
                             hint=f"offered: {OFFERED}")
    elif name == "poly":
        if n != 2 or node.args[1].kind != "num" or float(node.args[1].value) % 1 or float(node.args[1].value) < 1:
            raise InputError(f"formula: write poly(x, k) with a whole number k, found '{node.text()}'",
                             hint="raw or named arguments of poly() are not offered")
    elif name == "cbind":
        raise InputError("formula: cbind(successes, failures) belongs on the left of '~'",
                         hint="e.g. cbind(yes, total - yes) ~ x + (1 | group), family binomial")
    else:
        raise unknown_function(name)


# --------------------------------------------------------------------------- evaluation

class Derived:
    """One derived column: a call node, its deparsed name, and parameters kept from the fit."""

    def __init__(self, node: Node, column: int | None = None):
        self.node, self.column = node, column
        self.params: dict = {}
        base = node.text()
        self.name = base if column is None else f"{base}{column}"

    def variables(self) -> list[str]:
        return self.node.variables()

    def evaluate(self, data: pd.DataFrame) -> np.ndarray:
        return _eval(self.node, data, self.params, self.column)


def _eval(node: Node, data, params, column=None):
    if node.kind == "num":
        return float(node.value)
    if node.kind == "var":
        if node.value not in data.columns:
            raise InputError(f"unknown column in the formula: {node.value}")
        values = data[node.value]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise InputError("a formula function needs a numeric column", column=node.value)
        return values.to_numpy(dtype=float)
    if node.kind == "paren":
        return _eval(node.args[0], data, params)
    if node.kind == "neg":
        return -_eval(node.args[0], data, params)
    if node.kind == "op":
        a, b = _eval(node.args[0], data, params), _eval(node.args[1], data, params)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                    "^": np.power}[node.value](a, b)
    name = node.value
    x = _eval(node.args[0], data, params)
    if name == "I":
        return x
    if name in _UNARY:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _UNARY[name](x)
        bad = np.isfinite(np.asarray(x, dtype=float)) & ~np.isfinite(out)
        if np.any(bad):
            value = np.asarray(x, dtype=float)[np.argmax(bad)]
            raise InputError(f"formula: {node.text()} is undefined for the value {value:g}",
                             column=",".join(node.variables()),
                             hint="log() and sqrt() need positive values; e.g. log(x + 1) for counts")
        return out
    if name == "scale":
        if "center" not in params:
            ok = np.isfinite(x)
            params["center"] = float(x[ok].mean())
            params["scale"] = float(x[ok].std(ddof=1))
        if not params["scale"] > 0:
            raise InputError(f"formula: {node.text()} is constant, so it cannot be scaled",
                             column=",".join(node.variables()))
        return (x - params["center"]) / params["scale"]
    if name == "poly":
        k = int(float(node.args[1].value))
        if "alpha" not in params:
            params.update(_poly_coefs(x, k, node))
        return _poly_predict(x, params, k)[:, column - 1]
    raise unknown_function(name)


def _poly_coefs(x, k, node):
    """The three-term recurrence of ``stats::poly`` (alpha, norm2) from the fitted data."""
    ok = np.isfinite(x)
    xv = x[ok]
    if len(np.unique(xv)) <= k:
        raise InputError(f"formula: {node.text()} needs more than {k} distinct values",
                         column=",".join(node.variables()))
    mean = xv.mean()
    xc = xv - mean
    V = np.vander(xc, k + 1, increasing=True)
    Qm, R = np.linalg.qr(V)
    Z = Qm * np.diag(R)
    norm2 = np.concatenate([[1.0], (Z ** 2).sum(axis=0)])
    alpha = ((xc[:, None] * Z ** 2).sum(axis=0) / norm2[1:] + mean)[:k]
    return {"alpha": alpha, "norm2": norm2}


def _poly_predict(x, params, k):
    """Evaluate R's orthogonal polynomials at x from (alpha, norm2), as ``predict.poly``."""
    alpha, norm2 = params["alpha"], params["norm2"]
    n = len(x)
    Z = np.ones((n, k + 1))
    Z[:, 1] = x - alpha[0]
    for i in range(1, k):
        Z[:, i + 1] = (x - alpha[i]) * Z[:, i] - (norm2[i + 1] / norm2[i]) * Z[:, i - 1]
    return Z[:, 1:] / np.sqrt(norm2[2:])


def add_derived(derived: dict, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with one column per derived formula term (a copy when there are any)."""
    if not derived:
        return data
    missing = sorted({v for d in derived.values() for v in d.variables() if v not in data.columns})
    if missing:
        raise InputError(f"unknown column(s) in the formula: {', '.join(missing)}",
                         hint=f"available columns: {', '.join(map(str, data.columns[:30]))}")
    out = data.copy()
    for name, d in derived.items():
        out[name] = d.evaluate(data)
    return out


def parse_outcome(lhs: str, tokens: list):
    """The left of '~': a column, a call (``log(y)``) or ``cbind(successes, failures)``."""
    def error(message, tok=None):
        raise InputError(f"the left of '~' must be one outcome column, a function of one "
                         f"(e.g. log(y)) or cbind(successes, failures): {message} in '{lhs.strip()}'")

    if len(tokens) == 2 and tokens[0].kind == "name":
        return tokens[0].text, {}, None
    if not (tokens[0].kind == "name" and tokens[1].text == "("):
        error("unexpected expression")
    parser = ExprParser(tokens, 1, error)
    if tokens[0].text == "cbind":
        parser.take()
        args = [parser.sum()]
        while parser.peek().text == ",":
            parser.take()
            args.append(parser.sum())
        parser.expect(")")
        if len(args) != 2:
            error(f"cbind() needs two columns (successes, failures), found {len(args)}")
        for a in args:
            if a.kind == "call":
                check_call(a)
        if parser.peek().kind != "end":
            error(f"unexpected '{parser.peek().text}'")
        parts = [Derived(a) for a in args]
        name = Node("call", "cbind", args).text()
        return name, {d.name: d for d in parts}, (parts[0].name, parts[1].name)
    node = parser.call(tokens[0])
    if parser.peek().kind != "end":
        error(f"unexpected '{parser.peek().text}'")
    if node.value == "poly":
        error("poly() is for predictors")
    d = Derived(node)
    return d.name, {d.name: d}, None
