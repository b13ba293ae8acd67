# Exact rational and big-integer arithmetic: partial sums of the harmonic
# series as fractions (numerators and denominators of hundreds of digits,
# a new big integer for every step).
import sys
from fractions import Fraction

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
s = Fraction(0)
for k in range(1, n + 1):
    s += Fraction(1, k)
print(s.numerator.bit_length(), s.denominator.bit_length())
