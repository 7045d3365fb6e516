#include "textflag.h"

// The bytes classify64AVX2 looks for.
DATA classChars<>+0(SB)/1, $0x22 // "
DATA classChars<>+1(SB)/1, $0x5c // backslash
DATA classChars<>+2(SB)/1, $0x7b // {
DATA classChars<>+3(SB)/1, $0x5b // [
DATA classChars<>+4(SB)/1, $0x7d // }
DATA classChars<>+5(SB)/1, $0x5d // ]
DATA classChars<>+6(SB)/1, $0x3a // :
DATA classChars<>+7(SB)/1, $0x2c // ,
GLOBL classChars<>(SB), RODATA|NOPTR, $8

// EQUAL sets Y3 (bytes 0-31) and Y4 (32-63) to 0xff where Y0 and Y1 hold the byte at a.
#define EQUAL(a) \
	VPBROADCASTB classChars<>+a(SB), Y2; \
	VPCMPEQB     Y0, Y2, Y3; \
	VPCMPEQB     Y1, Y2, Y4

// EITHER sets Y3 and Y4 to 0xff where Y0 and Y1 hold the byte at a or the byte at b.
#define EITHER(a, b) \
	EQUAL(a); \
	VPBROADCASTB classChars<>+b(SB), Y2; \
	VPCMPEQB     Y0, Y2, Y5; \
	VPCMPEQB     Y1, Y2, Y6; \
	VPOR         Y3, Y5, Y3; \
	VPOR         Y4, Y6, Y4

// STOREMASK stores at off(DI) one bit for each byte of Y3 and Y4, byte 0 in the lowest bit.
#define STOREMASK(off) \
	VPMOVMSKB Y3, AX; \
	VPMOVMSKB Y4, BX; \
	SHLQ      $32, BX; \
	ORQ       BX, AX; \
	MOVQ      AX, off(DI)

// func classify64AVX2(p *byte, m *blockMasks)
TEXT ·classify64AVX2(SB), NOSPLIT, $0-16
	MOVQ    p+0(FP), SI
	MOVQ    m+8(FP), DI
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	EQUAL(0)
	STOREMASK(0)       // quotes
	EQUAL(1)
	STOREMASK(8)       // backslashes
	EITHER(2, 3)
	STOREMASK(16)      // opens
	EITHER(4, 5)
	STOREMASK(24)      // closes
	EITHER(6, 7)
	STOREMASK(32)      // punct
	VZEROUPPER
	RET
