#!/usr/bin/env python3
"""rng_reference.py: an independent Python implementation of amlab's RNG (include/amlab/rng.h).

splitmix64 and xoshiro256** follow Blackman & Vigna's published C reference code
(https://prng.di.unimi.it/); the seeding, stream, uniform and below rules follow rng.h.

  rng_reference.py            print the reference values pasted into test_rng.c
  rng_reference.py TEST_RNG   run `TEST_RNG --dump` and compare every line with this model
"""
import subprocess
import sys

M64 = (1 << 64) - 1


def splitmix64(state):
    """One splitmix64 step: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro256ss:
    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x, out = splitmix64(x)
            self.s.append(out)

    @classmethod
    def stream(cls, seed, stream):
        _, mixed = splitmix64(stream & M64)
        return cls(seed ^ mixed)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) / float(1 << 53)

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            v = self.next()
            if v < limit:
                return v % n


# The cases both this script and test_rng.c --dump print, one value per line.
SEEDS = [0, 1, 42, 0xDEADBEEFCAFEF00D, M64]
BELOW_N = [1, 2, 3, 7, 10, 1000, 1 << 32, (1 << 63) + 1, 3 << 62, M64]


def lines():
    out = []
    x = 0
    for i in range(3):
        x, v = splitmix64(x)
        out.append("splitmix64 0 %d %016x" % (i, v))
    for seed in SEEDS:
        r = Xoshiro256ss(seed)
        for i in range(6):
            out.append("u64 %d %d %016x" % (seed, i, r.next()))
    for seed, stream in [(42, 0), (42, 1), (42, 2), (7, 1000)]:
        r = Xoshiro256ss.stream(seed, stream)
        for i in range(3):
            out.append("stream %d %d %d %016x" % (seed, stream, i, r.next()))
    r = Xoshiro256ss(123)
    for i in range(4):
        out.append("uniform 123 %d %.17g" % (i, r.uniform()))
    r = Xoshiro256ss(99)
    for n in BELOW_N:
        for i in range(3):
            out.append("below 99 %d %d %d" % (n, i, r.below(n)))
    return out


def main():
    want = lines()
    if len(sys.argv) == 1:
        print("\n".join(want))
        return 0
    got = subprocess.run([sys.argv[1], "--dump"], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    bad = 0
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "<missing>"
        g = got[i] if i < len(got) else "<missing>"
        if w != g:
            bad += 1
            print("line %d: python %r, C %r" % (i + 1, w, g))
    print("%d reference lines compared, %d differ" % (len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
