"""tf.randomNormal(shape, 0, 1, 'float32', seed) as tfjs-core draws it, value for value, so SMART's initial noise is
Taskscope's: tfjs's MPRandGauss (the Marsaglia polar method, one pair of normals per accepted pair of uniforms, the
second kept for the next draw) on seedrandom's `alea` generator (Johannes Baagøe's Alea, seeded through his Mash hash
with the seed's decimal string). Alea and Mash are double-precision arithmetic plus 32-bit truncations, which Python
floats reproduce exactly; the normals are computed in double and rounded to float32 when stored, as tfjs's
Float32Array does. The one libm call, log, may differ from V8's in the last bit of a double, which the float32
rounding hides (tests/node/torchExport.test.ts compares the draws)."""
import math

import torch

TWO_POW_32 = 4294967296.0
TWO_POW_M32 = 2.3283064365386963e-10  # 2^-32


def _uint32(x):
    """JavaScript's `x >>> 0` for a finite x >= 0."""
    return float(int(x) % 4294967296)


class _Mash:
    def __init__(self):
        self.n = float(0xEFC8249D)

    def __call__(self, data):
        n = self.n
        units = data.encode('utf-16-le')
        for i in range(0, len(units), 2):
            n += units[i] | (units[i + 1] << 8)  # String.charCodeAt
            h = 0.02519603282416938 * n
            n = _uint32(h)
            h -= n
            h *= n
            n = _uint32(h)
            h -= n
            n += h * TWO_POW_32
        self.n = n
        return _uint32(n) * TWO_POW_M32


class Alea:
    """seedrandom's alea(seed): uniform doubles in [0, 1)."""

    def __init__(self, seed):
        mash = _Mash()
        self.c = 1.0
        self.s0 = mash(' ')
        self.s1 = mash(' ')
        self.s2 = mash(' ')
        self.s0 -= mash(seed)
        if self.s0 < 0:
            self.s0 += 1
        self.s1 -= mash(seed)
        if self.s1 < 0:
            self.s1 += 1
        self.s2 -= mash(seed)
        if self.s2 < 0:
            self.s2 += 1

    def __call__(self):
        t = 2091639 * self.s0 + self.c * TWO_POW_M32
        self.s0 = self.s1
        self.s1 = self.s2
        self.c = float(int(t))  # t | 0, with 0 <= t < 2^31
        self.s2 = t - self.c
        return self.s2


def normal_doubles(count, seed):
    """The first `count` values of tfjs's MPRandGauss(0, 1, 'float32', false, seed), before the float32 rounding."""
    if not seed:
        raise ValueError('tfjs draws an unseeded (Math.random) stream for seed 0: there is nothing to reproduce')
    rand = Alea(str(int(seed)))
    out = []
    push = out.append
    log, sqrt = math.log, math.sqrt
    while len(out) < count:
        while True:
            v1 = 2 * rand() - 1
            v2 = 2 * rand() - 1
            s = v1 * v1 + v2 * v2
            if s < 1 and s != 0:
                break
        mul = sqrt(-2.0 * log(s) / s)
        push(v1 * mul)
        push(v2 * mul)
    del out[count:]
    return out


def random_normal(shape, seed, skip=0):
    """tf.randomNormal(shape, 0, 1, 'float32', seed) as a float32 tensor; `skip` leading values of the stream are
    drawn and dropped first (a slice of rows of a larger draw: rows lo.. of [B, T, H] skip lo*T*H values)."""
    n = 1
    for d in shape:
        n *= d
    values = normal_doubles(skip + n, seed)[skip:]
    return torch.tensor(values, dtype=torch.float64).to(torch.float32).view(*shape)
