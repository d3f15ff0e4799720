// byte / 255 as a float, for a byte b, in two operations instead of a division: b·HI + b·LO with one
// rounding (a fused multiply-add onto the product b·HI). HI is 1/255 cut to 17 significant bits, so
// b·HI (8 bits times 17) is exact; LO is the rest of 1/255 rounded to float. HI + LO is within 2⁻⁵⁶
// of 1/255, and b / 255 is never that near a float's rounding midpoint, so the sum rounds to the
// division's own float for all 256 bytes (tests check every one). Needs a real FMA: without one the
// sum would round twice.
#ifndef TRAIND_BYTE_QUOTIENT_H
#define TRAIND_BYTE_QUOTIENT_H

#define BYTE_QUOTIENT_HI 0x1.0101p-8f
#define BYTE_QUOTIENT_LO 0x1.0101p-32f

#endif
