"""GLMM families with canonical links, as R's ``binomial()`` and ``poisson()`` (McCullagh &
Nelder 1989, *Generalized Linear Models*, 2nd ed., ch. 2 and 6).

Each family holds the prior weights ``wt`` (binomial: prior weight x number of trials, as
``glm``'s ``binomial()$initialize`` sets them for ``cbind(s, f)`` outcomes) and gives the
pieces lme4's PIRLS and Laplace deviance use (Bates et al. 2015, JSS 67(1); lme4's
``glmResp``): mean ``linkinv(eta)``, IRLS weights ``wt * var(mu)`` (canonical link: dmu/deta =
var) and ``dvariance`` = d var / d mu (for the deviance's gradient), score ``wt * (y - mu)``,
deviance residuals ``devres`` and ``aic`` = -2 log-likelihood
(R's ``family()$aic``), which enters the Laplace deviance
``aic + ||u||^2 + log|L|^2``.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, xlogy

FAMILIES = ("gaussian", "binomial", "poisson")


class Binomial:
    """logit link; y a proportion, ``trials`` the binomial size (1 for 0/1 outcomes).

    R: ``binomial()``; aic = -2 sum (wt/m) dbinom(round(m y), round(m), mu, log = TRUE),
    m = trials when any trial count exceeds 1 (``cbind``), else the prior weights.
    """
    name = "binomial"
    link = "logit"

    def __init__(self, y, trials=None, prior=None):
        n = len(y)
        self.y = np.asarray(y, dtype=float)
        trials = np.ones(n) if trials is None else np.asarray(trials, dtype=float)
        prior = np.ones(n) if prior is None else np.asarray(prior, dtype=float)
        self.wt = prior * trials
        self.m = trials if np.any(trials > 1) else self.wt
        y = self.y
        self._sat = xlogy(y, y) + xlogy(1 - y, 1 - y)     # the saturated part, computed once

    @staticmethod
    def linkinv(eta):
        return expit(eta)

    @staticmethod
    def variance(mu):
        return mu * (1.0 - mu)

    @staticmethod
    def dvariance(mu):
        """d var / d mu (the Laplace deviance's gradient needs d w / d eta = wt var' var)."""
        return 1.0 - 2.0 * mu

    def devres(self, mu):
        mu = np.clip(mu, 1e-300, 1 - 1e-16)
        y = self.y
        return 2.0 * self.wt * (self._sat - y * np.log(mu) - (1 - y) * np.log1p(-mu))

    def aic(self, mu):
        mu = np.clip(mu, 1e-300, 1 - 1e-16)
        m = np.round(self.m)
        k = np.round(self.m * self.y)
        mult = np.where(self.m > 0, self.wt / np.where(self.m > 0, self.m, 1.0), 0.0)
        logp = gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1) + xlogy(k, mu) + xlogy(m - k, 1 - mu)
        return float(-2.0 * (mult * logp).sum())

    def start(self):
        """Starting mean as ``binomial()$initialize``: (wt y + 0.5) / (wt + 1)."""
        return (self.wt * self.y + 0.5) / (self.wt + 1.0)

    def link_fun(self, mu):
        return np.log(mu / (1 - mu))


class Poisson:
    """log link.  R: ``poisson()``; aic = -2 sum wt dpois(y, mu, log = TRUE)."""
    name = "poisson"
    link = "log"

    def __init__(self, y, trials=None, prior=None):
        self.y = np.asarray(y, dtype=float)
        self.wt = np.ones(len(y)) if prior is None else np.asarray(prior, dtype=float)
        self.m = self.wt
        self._sat = xlogy(self.y, self.y) - self.y        # the saturated part, computed once

    @staticmethod
    def linkinv(eta):
        return np.exp(np.minimum(eta, 700.0))

    @staticmethod
    def variance(mu):
        return mu

    @staticmethod
    def dvariance(mu):
        return np.ones_like(mu)

    def devres(self, mu):
        mu = np.maximum(mu, 1e-300)
        return 2.0 * self.wt * (self._sat - self.y * np.log(mu) + mu)

    def aic(self, mu):
        mu = np.maximum(mu, 1e-300)
        y = self.y
        return float(-2.0 * (self.wt * (xlogy(y, mu) - mu - gammaln(y + 1))).sum())

    def start(self):
        return self.y + 0.1

    @staticmethod
    def link_fun(mu):
        return np.log(mu)


def make_family(name: str, y, trials=None, prior=None):
    return {"binomial": Binomial, "poisson": Poisson}[name](y, trials, prior)
