#!/usr/bin/env python3
"""Independent computation of the population-uniqueness estimators (scipy), for
test/tabular/risk/uniqueness.test.ts and docs/risk.md.

Reads JSON {"sizes": [class sizes...], "fractions": [f, ...]} on stdin and prints, per f,
Pitman / Zayatz / SNB population uniques as shares of the population N = n / f.
Written from the papers, with other numerical methods than src/tabular/risk:
- Pitman (1996) / Hoshino (2001): log-likelihood in closed form with log-gamma functions,
  maximized with scipy's L-BFGS-B from several starts (Veil: Newton on the score).
- Zayatz (1991): scipy.stats.hypergeom.
- SNB (Chen & McNulty 1998): E f1, E f2 by summing the series with scipy.stats.nbinom and
  binom (Veil: closed forms), solved with scipy.optimize.least_squares; K by Shlosser / Haas
  et al.'s D_Sh3.
With --arx it also prints the figures obtained with two readings found in ARX's sources
(Shlosser's denominator with -1 per histogram entry; E f2 with (1-x)^(a+2)), for comparison.
"""
import functools, json, math, sys
from collections import Counter
import numpy as np
from scipy import optimize, special, stats


def histogram(sizes):
    c = Counter(s for s in sizes if s > 0)
    return sorted(c.items())


def pitman(h, N):
    # The fit depends on the histogram only, not on N: fitted once for every fraction.
    t, a = pitman_fit(tuple(h))
    uniques = math.exp(special.gammaln(t + 1) - special.gammaln(t + a) + a * math.log(N))
    return {'theta': t, 'alpha': a, 'share': uniques / N}


@functools.lru_cache(maxsize=None)
def pitman_fit(h):
    n = sum(i * fi for i, fi in h)
    u = sum(fi for _, fi in h)

    def nll(p):
        t, a = p
        if not (0 < a < 1 and t > -a):
            return 1e300
        ll = (u - 1) * math.log(a) + special.gammaln(t / a + u) - special.gammaln(t / a + 1)
        ll -= special.gammaln(t + n) - special.gammaln(t + 1)
        ll += sum(fi * (special.gammaln(i - a) - special.gammaln(1 - a)) for i, fi in h)
        return -ll

    # L-BFGS-B from several starts, then a tight Nelder-Mead polish from the best point.
    bounds = [(1e-6, 1e8), (1e-6, 1 - 1e-6)]
    best = None
    for t0 in (1.0, 100.0, 1000.0, 10000.0):
        for a0 in (0.2, 0.5, 0.8):
            r = optimize.minimize(nll, [t0, a0], method='L-BFGS-B', bounds=bounds,
                                  options={'ftol': 1e-15, 'gtol': 1e-10, 'maxiter': 10000})
            if best is None or r.fun < best.fun:
                best = r
    best = optimize.minimize(nll, best.x, method='Nelder-Mead', bounds=bounds,
                             options={'xatol': 1e-10, 'fatol': 1e-13, 'maxiter': 20000})
    t, a = best.x
    return t, a


def zayatz(h, n, N):
    u = sum(fi for _, fi in h)
    f1 = dict(h).get(1, 0)
    den = sum(fi / u * stats.hypergeom.pmf(1, N, i, n) for i, fi in h)
    p = (f1 / u) * stats.hypergeom.pmf(1, N, 1, n) / den
    return f1 * p / (n / N) / N


def shlosser(h, q, arx=False):
    f1 = dict(h).get(1, 0)
    a = sum(i * q * q * (1 - q * q) ** (i - 1) * fi for i, fi in h)
    if arx:
        b = sum((1 - q) ** i * fi * (1 + q) ** i - 1 for i, fi in h)
    else:
        b = sum((1 - q) ** i * ((1 + q) ** i - 1) * fi for i, fi in h)
    c = sum((1 - q) ** i * fi for i, fi in h)
    d = sum(i * q * (1 - q) ** (i - 1) * fi for i, fi in h)
    return sum(fi for _, fi in h) + f1 * (a / b) * (c / d) ** 2


def snb(h, f, arx=False):
    f1 = dict(h).get(1, 0)
    f2 = dict(h).get(2, 0)
    K = shlosser(h, f, arx)

    def expected(a, b):
        if arx:
            x = (1 - f) * (1 - b)
            e1 = K * f * (b / (1 - x)) ** a * (a * x / (1 - x) + 1)
            e2 = K * a * b ** a * f * f * (1 - b) / 2 * (1 - x) ** (a + 2) * (2 - (1 - a) * x)
            return e1, e2
        j = np.arange(1, min(200000, int(60 / b) + 200))
        pf = stats.nbinom.pmf(j - 1, a, b)  # P(F = j), F = 1 + NB(a, b)
        return K * np.sum(pf * stats.binom.pmf(1, j, f)), K * np.sum(pf * stats.binom.pmf(2, j, f))

    def residual(p):
        a, b = math.exp(p[0]), 1 / (1 + math.exp(-p[1]))
        e1, e2 = expected(a, b)
        return [e1 / f1 - 1, e2 / f2 - 1]

    best = None
    for s0 in (0.0, -2.0, 2.0):
        for t0 in (0.0, -4.0, 4.0):
            try:
                r = optimize.least_squares(residual, [s0, t0], xtol=1e-15, ftol=1e-15, gtol=1e-15)
            except (ValueError, OverflowError, ZeroDivisionError):
                continue
            if best is None or r.cost < best.cost:
                best = r
    if best is None or best.cost > 1e-10:
        return {'share': None, 'K': K}
    a, b = math.exp(best.x[0]), 1 / (1 + math.exp(-best.x[1]))
    return {'alpha': a, 'beta': b, 'K': K, 'share': K * b ** a / (sum(i * fi for i, fi in h) / f)}


def main():
    arx = '--arx' in sys.argv
    data = json.load(sys.stdin)
    h = histogram(data['sizes'])
    n = sum(i * fi for i, fi in h)
    out = {}
    for f in data['fractions']:
        N = round(n / f)
        out[str(f)] = {
            'pitman': pitman(h, n / f)['share'],
            'zayatz': zayatz(h, n, N),
            'snb': snb(h, f)['share'] if f < 1 else None,
        }
        if arx:
            out[str(f)]['snb_arx_reading'] = snb(h, f, arx=True)['share'] if f < 1 else None
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
