"""lme4 formula language: parsing and model matrices.

Covers what survey models need: ``y ~ x1 + x2*z + (1 + x | g)``, ``(x || g)``,
``(1 | a/b)``, ``(1 | a:b)``, ``0 +`` / ``- 1``, ``a:b``, ``a*b``, ``a/b`` and
categorical predictors with treatment coding.  Term order, column names and the
choice between contrasts and full indicators follow R's ``terms()`` /
``model.matrix()`` (Chambers & Hastie 1992, *Statistical Models in S*, ch. 2), so
names read as lme4 prints them: ``(Intercept)``, ``urbanY``, ``cses:sectorCatholic``.
Random-effect terms are expanded as ``lme4::findbars`` / ``expandDoubleVerts``
(Bates et al. 2015): ``(1 + x || g)`` becomes ``(1 | g) + (0 + x | g)`` and
``(1 | a/b)`` becomes ``(1 | a) + (1 | b:a)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputError

_TOKEN = re.compile(r"\s*(?:(`[^`]+`)|([A-Za-z_.][A-Za-z0-9_.]*)|(\d+(?:\.\d*)?)|(\|\||[~+\-*/:|()^,]))")


@dataclass(frozen=True)
class Token:
    kind: str  # name, number, op, end
    text: str
    pos: int


def _tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise InputError(f"formula: unexpected character '{text[pos:].strip()[0]}' at position "
                             f"{pos + 1 + len(text[pos:]) - len(text[pos:].lstrip())}",
                             hint="use lme4 syntax, e.g. y ~ x + (1 + x | group)")
        start = m.start(m.lastindex)
        if m.group(1):
            tokens.append(Token("name", m.group(1)[1:-1], start))
        elif m.group(2):
            tokens.append(Token("name", m.group(2), start))
        elif m.group(3):
            tokens.append(Token("number", m.group(3), start))
        else:
            tokens.append(Token("op", m.group(4), start))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


@dataclass
class TermSet:
    """Terms of a (sub)formula: each term a tuple of variable names; intercept flag."""
    terms: list[tuple[str, ...]] = field(default_factory=list)
    intercept: bool | None = None  # None: not stated (defaults to True at the top)

    def add(self, other: "TermSet") -> "TermSet":
        out = TermSet(list(self.terms), self.intercept)
        for t in other.terms:
            if not any(set(t) == set(u) for u in out.terms):
                out.terms.append(t)
        if other.intercept is not None:
            out.intercept = other.intercept
        return out

    def remove(self, other: "TermSet") -> "TermSet":
        out = TermSet([t for t in self.terms if not any(set(t) == set(u) for u in other.terms)],
                      self.intercept)
        if other.intercept is True:
            out.intercept = False
        return out


def _interact(a: TermSet, b: TermSet) -> TermSet:
    out = TermSet()
    for s in a.terms:
        for t in b.terms:
            merged = tuple(dict.fromkeys(s + t))
            out = out.add(TermSet([merged]))
    return out


@dataclass
class RandomSpec:
    """One ``(expr | group)`` term after expansion."""
    expr: TermSet
    group: tuple[str, ...]  # variables whose interaction defines the grouping factor
    correlated: bool = True

    @property
    def group_name(self) -> str:
        return ":".join(self.group)


class _Parser:
    """Recursive descent over R's formula operators: ``+ -`` < ``* /`` < ``:`` < ``^``."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.random: list[RandomSpec] = []
        self.variables: list[str] = []  # order of first appearance, as R's terms()
        self.derived: dict = {}         # name -> functions.Derived (calls such as log(x))

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None):
        tok = tok or self.peek()
        where = f"at position {tok.pos + 1}" if tok.kind != "end" else "at the end"
        raise InputError(f"formula syntax error {where}: {message} in '{self.text}'",
                         hint="use lme4 syntax, e.g. y ~ x + (1 + x | group)")

    def parse_sum(self, allow_bar: bool = False) -> TermSet:
        result = TermSet()
        sign = "+"
        if self.peek().text == "-":
            self.take()
            sign = "-"
        while True:
            part = self.parse_product(allow_bar)
            result = result.add(part) if sign == "+" else result.remove(part)
            if self.peek().kind == "op" and self.peek().text in "+-" and self.peek().text:
                sign = self.take().text
                continue
            return result

    def parse_product(self, allow_bar: bool) -> TermSet:
        left = self.parse_interaction(allow_bar)
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.take().text
            right = self.parse_interaction(allow_bar)
            if op == "*":
                left = left.add(right).add(_interact(left, right))
            else:  # a/b = a + a:b, with all variables of a
                all_left = tuple(dict.fromkeys(v for t in left.terms for v in t))
                left = left.add(_interact(TermSet([all_left]), right))
        return left

    def parse_interaction(self, allow_bar: bool) -> TermSet:
        left = self.parse_power(allow_bar)
        while self.peek().kind == "op" and self.peek().text == ":":
            self.take()
            left = _interact(left, self.parse_power(allow_bar))
        return left

    def parse_power(self, allow_bar: bool) -> TermSet:
        base = self.parse_primary(allow_bar)
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            tok = self.take()
            if tok.kind != "number":
                self.error("'^' needs a whole number after it", tok)
            out = base
            for _ in range(int(float(tok.text)) - 1):
                out = out.add(_interact(out, base))
            return out
        return base

    def parse_primary(self, allow_bar: bool) -> TermSet:
        tok = self.peek()
        if tok.kind == "name":
            self.take()
            if self.peek().text == "(" and self.peek().kind == "op":
                return self.parse_call(tok)
            if tok.text not in self.variables:
                self.variables.append(tok.text)
            return TermSet([(tok.text,)])
        if tok.kind == "number":
            self.take()
            if tok.text in ("0", "1"):
                return TermSet([], intercept=(tok.text == "1"))
            self.error(f"the number {tok.text} can only be 0 or 1 (intercept)", tok)
        if tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.parse_sum()
            if self.peek().kind == "op" and self.peek().text in ("|", "||"):
                bar = self.take().text
                group = self.parse_group()
                self.expect(")")
                self.add_random(inner, group, bar == "|")
                return TermSet()
            self.expect(")")
            return inner
        if tok.kind == "end":
            self.error("the formula ends too early")
        self.error(f"unexpected '{tok.text}'", tok)

    def parse_call(self, name_tok: Token) -> TermSet:
        """A function call as a term: a derived column named as R deparses the call;
        ``poly(x, k)`` gives k columns ``poly(x, k)1`` ... (see analysis.mixed.functions)."""
        from analysis.mixed.functions import Derived, ExprParser
        parser = ExprParser(self.tokens, self.i, self.error)
        node = parser.call(name_tok)
        self.i = parser.i
        if node.value == "poly":
            parts = [Derived(node, j + 1) for j in range(int(float(node.args[1].value)))]
            shared = parts[0].params
            for d in parts[1:]:
                d.params = shared           # one set of polynomial coefficients
        else:
            parts = [Derived(node)]
        names = []
        for d in parts:
            self.derived.setdefault(d.name, d)
            if d.name not in self.variables:
                self.variables.append(d.name)
            names.append((d.name,))
        return TermSet(names)

    def parse_group(self) -> list[tuple[str, ...]]:
        """Grouping factor(s): ``g``, ``a:b``, ``a/b`` (-> a, b:a), ``a/b/c``."""
        chain: list[list[str]] = []
        while True:
            names = []
            while True:
                tok = self.take()
                if tok.kind != "name":
                    self.error("a grouping variable name is expected after '|'", tok)
                names.append(tok.text)
                if tok.text not in self.variables:
                    self.variables.append(tok.text)
                if self.peek().text == ":":
                    self.take()
                    continue
                break
            chain.append(names)
            if self.peek().text == "/":
                self.take()
                continue
            break
        groups = []
        outer: list[str] = []
        for names in chain:
            # lme4 names the nested factor inner:outer, e.g. cask:batch
            level = tuple(names) + tuple(outer) if outer else tuple(names)
            groups.append(level)
            outer = list(level)
        return groups

    def add_random(self, expr: TermSet, groups: list[tuple[str, ...]], correlated: bool):
        intercept = True if expr.intercept is None else expr.intercept
        for group in groups:
            if correlated:
                self.random.append(RandomSpec(TermSet(list(expr.terms), intercept), group, True))
            else:  # (1 + x || g) = (1 | g) + (0 + x | g): one block per term
                if intercept:
                    self.random.append(RandomSpec(TermSet([], True), group, True))
                for term in expr.terms:
                    self.random.append(RandomSpec(TermSet([term], False), group, True))

    def expect(self, text: str):
        tok = self.take()
        if tok.text != text:
            self.error(f"'{text}' expected, found '{tok.text or 'end of formula'}'", tok)


@dataclass
class ParsedFormula:
    text: str
    outcome: str
    fixed: TermSet
    random: list[RandomSpec]
    variables: list[str]  # every data column used, order of appearance
    derived: dict = field(default_factory=dict)   # derived column name -> functions.Derived
    cbind: tuple[str, str] | None = None          # (successes, failures) columns of cbind()


def parse_formula(text: str) -> ParsedFormula:
    """Parse an lme4 formula string; raise InputError pointing at the problem."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("formula is empty", hint="e.g. y ~ x + (1 | group)")
    if text.count("~") != 1:
        raise InputError(f"formula must have exactly one '~' (outcome ~ predictors): '{text}'")
    lhs, rhs = text.split("~")
    lhs_tokens = _tokenize(lhs)
    parser = _Parser(rhs)
    from analysis.mixed.functions import parse_outcome
    outcome, derived, cbind = parse_outcome(lhs, lhs_tokens)
    parser.derived.update(derived)
    parser.variables.extend(cbind if cbind else [outcome])
    if parser.peek().kind == "end":
        parser.error("nothing after '~'")
    fixed = parser.parse_sum()
    if parser.peek().kind != "end":
        parser.error(f"unexpected '{parser.peek().text}'")
    if fixed.intercept is None:
        fixed.intercept = True
    used = set(v for t in fixed.terms for v in t)
    for r in parser.random:
        used |= set(v for t in r.expr.terms for v in t) | set(r.group)
    used |= set(cbind) if cbind else {outcome}
    variables = [v for v in parser.variables if v in used]
    derived = {k: d for k, d in parser.derived.items() if k in used}
    return ParsedFormula(text.strip(), outcome, fixed, parser.random, variables, derived, cbind)


# ----------------------------------------------------------------------------- coding

@dataclass
class VariableCoding:
    """How a column enters a model matrix: numeric, or a factor with its levels."""
    name: str
    levels: list | None = None  # None = numeric

    @property
    def is_factor(self) -> bool:
        return self.levels is not None


def _level_label(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def make_coding(data: pd.DataFrame, name: str, reference: str | None = None) -> VariableCoding:
    s = data[name]
    if not is_categorical(s):
        return VariableCoding(name)
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        levels = [c for c in s.cat.categories if c in present]
    else:
        values = s.dropna().unique().tolist()
        try:
            levels = sorted(values)
        except TypeError:
            levels = sorted(values, key=str)
    if reference is not None:
        match = [lv for lv in levels if _level_label(lv) == str(reference)]
        if not match:
            raise InputError(f"reference level '{reference}' does not occur",
                             column=name, hint=f"levels are: {', '.join(_level_label(v) for v in levels)}")
        levels = match + [lv for lv in levels if lv is not match[0]]
    return VariableCoding(name, levels)


@dataclass
class DesignColumns:
    """A model matrix recipe: ordered terms with their coding, reusable on new data."""
    terms: list[tuple[str, ...]]
    intercept: bool
    codings: dict[str, VariableCoding]
    contrasted: list[tuple[bool, ...]]  # per term, per variable: treatment contrasts or full
    names: list[str]

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The model matrix of ``data``'s rows (n x p, float), filled column by column."""
        cols: list = [1.0] if self.intercept else []
        for term, contr in zip(self.terms, self.contrasted):
            cols.extend(_term_columns(data, term, contr, self.codings)[0])
        out = np.empty((len(data), len(cols)))
        for j, col in enumerate(cols):
            out[:, j] = col
        return out


def _variable_columns(data, name, coding: VariableCoding, contrast: bool):
    if not coding.is_factor:
        return [np.asarray(data[name], dtype=float)], [name]
    values = data[name].to_numpy()
    levels = coding.levels[1:] if contrast else coding.levels
    cols, names = [], []
    for lv in levels:
        cols.append((values == lv).astype(float))
        names.append(f"{name}{_level_label(lv)}")
    return cols, names


def _term_columns(data, term, contrasted, codings):
    """A term's columns and names: the products of its variables' columns, R's order (the
    first variable varying fastest). A one-variable term's columns are the variable's own
    (possibly views of ``data``)."""
    cols, names = None, [""]
    for var, contr in zip(term, contrasted):
        vcols, vnames = _variable_columns(data, var, codings[var], contr)
        cols = vcols if cols is None else [c * v for v in vcols for c in cols]
        names = [(nm + ":" if nm else "") + vn for vn in vnames for nm in names]
    return (cols if cols is not None else [np.ones(len(data))]), names


def build_design(terms: TermSet, codings: dict[str, VariableCoding], variable_order: list[str],
                 data: pd.DataFrame) -> DesignColumns:
    """R's model.matrix rules: terms sorted by order, variables by appearance; a factor
    gets treatment contrasts when the term without it is in the model, else indicators."""
    rank = {v: i for i, v in enumerate(variable_order)}
    ordered = [tuple(sorted(t, key=lambda v: rank[v])) for t in terms.terms]
    ordered = sorted(ordered, key=len)  # stable: keeps appearance order within an order
    present = {frozenset()} if terms.intercept else set()
    present |= {frozenset(t) for t in ordered}
    contrasted = []
    for t in ordered:
        flags = []
        for v in t:
            if not codings[v].is_factor:
                flags.append(False)
            else:
                flags.append(frozenset(set(t) - {v}) in present)
        contrasted.append(tuple(flags))
    names = ["(Intercept)"] if terms.intercept else []
    sample = data.iloc[:1]
    for t, c in zip(ordered, contrasted):
        names.extend(_term_columns(sample, t, c, codings)[1])
    return DesignColumns(ordered, bool(terms.intercept), codings, contrasted, names)


def quote(name: str) -> str:
    """A column name as an lme4 formula needs it: as it is when it is a plain name, else in
    backticks (R's rule for non-syntactic names)."""
    return name if name.replace("_", "a").replace(".", "a").isalnum() and not name[0].isdigit() else f"`{name}`"


def build_formula(outcome: str, level1, level2, groups, slopes=(), uncorrelated: bool = False,
                  interactions=()) -> str:
    """The lme4 formula of a model builder's choices: the fixed terms (level-1, then level-2
    predictors, then interactions ``a:b``), then one random intercept per grouping column, the
    random slopes on the first (``(1 + x || g)`` when ``uncorrelated``); ``""`` without an
    outcome or a grouping column.

    Parameters
    ----------
    outcome : str
        The response.
    level1, level2 : sequence of str
        Fixed predictors (respondent level, group level).
    groups : sequence of str
        Grouping columns, innermost first.
    slopes : sequence of str
        Predictors whose slopes vary by the first grouping column.
    uncorrelated : bool
        Slopes uncorrelated with the intercept (lme4's ``||``).
    interactions : sequence of str
        Interactions as ``a:b``.
    """
    if not outcome or not groups:
        return ""
    fixed = [quote(v) for v in [*level1, *level2]] + [":".join(quote(p) for p in i.split(":")) for i in interactions]
    random = []
    for k, group in enumerate(groups):
        chosen = [quote(s) for s in slopes] if k == 0 else []
        bar = "||" if uncorrelated and chosen else "|"
        random.append(f"({' + '.join(['1', *chosen])} {bar} {quote(group)})")
    return f"{quote(outcome)} ~ {' + '.join(fixed or ['1'])} + {' + '.join(random)}"
