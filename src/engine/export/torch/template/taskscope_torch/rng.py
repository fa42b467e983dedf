"""Taskscope's seeded generator (src/engine/runtime/rng.ts), draw for draw: sfc32 (Chris Doty-Humphrey's Small Fast
Counting generator) with a four-word state, seeded by splitmix32 (integer seeds) or a cyrb128-style hash (string
seeds). Every operation is 32-bit integer arithmetic or an exact float operation, so the streams are identical."""

M32 = 0xFFFFFFFF
TWO_POW_32 = 4294967296
TWO_POW_53 = 9007199254740992


def _imul(a, b):
    return (a * b) & M32


def _splitmix32(seed):
    s = seed & M32
    while True:
        s = (s + 0x9E3779B9) & M32
        z = s
        z = _imul(z ^ (z >> 16), 0x85EBCA6B)
        z = _imul(z ^ (z >> 13), 0xC2B2AE35)
        yield (z ^ (z >> 16)) & M32


def _hash_string(text, mix=(0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A)):
    h1, h2, h3, h4 = mix
    units = text.encode('utf-16-le')
    for i in range(0, len(units), 2):
        k = units[i] | (units[i + 1] << 8)  # a UTF-16 code unit, as String.charCodeAt
        h1 = h2 ^ _imul(h1 ^ k, 597399067)
        h2 = h3 ^ _imul(h2 ^ k, 2869860233)
        h3 = h4 ^ _imul(h3 ^ k, 951274213)
        h4 = h1 ^ _imul(h4 ^ k, 2716044179)
    h1 = _imul(h3 ^ (h1 >> 18), 597399067)
    h2 = _imul(h4 ^ (h2 >> 22), 2869860233)
    h3 = _imul(h1 ^ (h3 >> 17), 951274213)
    h4 = _imul(h2 ^ (h4 >> 19), 2716044179)
    h1 ^= h2 ^ h3 ^ h4
    h2 ^= h1
    h3 ^= h1
    h4 ^= h1
    return [h1 & M32, h2 & M32, h3 & M32, h4 & M32]


class Rng:
    def __init__(self, seed):
        if isinstance(seed, str):
            words = _hash_string(seed)
        else:
            g = _splitmix32(int(seed))
            words = [next(g) for _ in range(4)]
        self.set_state(words)
        for _ in range(12):
            self.next_uint32()

    @staticmethod
    def from_state(state):
        r = Rng(0)
        r.set_state(state)
        return r

    def get_state(self):
        return [self.a, self.b, self.c, self.d]

    def set_state(self, state):
        if len(state) != 4 or any(not (0 <= int(w) < TWO_POW_32) for w in state):
            raise ValueError(f'rng state must be 4 uint32 words, got {state}')
        self.a, self.b, self.c, self.d = (int(w) for w in state)

    def next_uint32(self):
        t = (self.a + self.b + self.d) & M32
        self.d = (self.d + 1) & M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M32
        self.c = ((self.c << 21) | (self.c >> 11)) & M32
        self.c = (self.c + t) & M32
        return t

    def uniform(self):
        hi = self.next_uint32() >> 5
        lo = self.next_uint32() >> 6
        return (hi * 67108864 + lo) / TWO_POW_53

    def int(self, n):
        limit = TWO_POW_32 - (TWO_POW_32 % n)
        while True:
            x = self.next_uint32()
            if x < limit:
                return x % n

    def shuffle(self, array):
        for i in range(len(array) - 1, 0, -1):
            j = self.int(i + 1)
            array[i], array[j] = array[j], array[i]
        return array

    def sample(self, array, k):
        pool = list(array)
        for i in range(k):
            j = i + self.int(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def choice_weighted(self, weights):
        total = 0.0
        for w in weights:
            total += w
        target = self.uniform() * total
        acc = 0.0
        last = -1
        for i, w in enumerate(weights):
            if w == 0:
                continue
            acc += w
            last = i
            if target < acc:
                return i
        return last
