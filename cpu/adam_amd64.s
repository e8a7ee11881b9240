//go:build amd64 && !noasm

#include "textflag.h"

// func adamAVX(p, m, v, vmax, grad *float64, n int, a *Adam)
// Adam's fields: Decay 0, Step 8, B1 16, B2 24, Beta1 32, Beta2 40, Eps 48, BC2 56.
TEXT ·adamAVX(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ vmax+24(FP), R8
	MOVQ grad+32(FP), R9
	MOVQ n+40(FP), CX
	MOVQ a+48(FP), AX
	VBROADCASTSD 0(AX), Y8  // Decay
	VBROADCASTSD 8(AX), Y9  // Step
	VBROADCASTSD 16(AX), Y10 // B1
	VBROADCASTSD 24(AX), Y11 // B2
	VBROADCASTSD 32(AX), Y12 // Beta1
	VBROADCASTSD 40(AX), Y13 // Beta2
	VBROADCASTSD 48(AX), Y14 // Eps
	VBROADCASTSD 56(AX), Y15 // BC2
	SHRQ $2, CX
	JEQ adamdone
adamloop:
	VMOVUPD (R9), Y0          // g
	VMULPD (DI), Y8, Y1       // p·Decay
	VMULPD (SI), Y12, Y2      // β₁m
	VMULPD Y0, Y10, Y3        // B1·g
	VADDPD Y3, Y2, Y2         // m
	VMULPD (DX), Y13, Y4      // β₂v
	VMULPD Y0, Y11, Y5        // B2·g
	VMULPD Y0, Y5, Y5         // (B2·g)·g
	VADDPD Y5, Y4, Y4         // v
	VMOVUPD (R8), Y6          // vmax
	VCMPPD $3, Y4, Y6, Y3     // lanes with a NaN
	VMAXPD Y4, Y6, Y6         // max(vmax, v): v when equal
	VORPD Y3, Y6, Y6          // NaN where either is NaN
	VMOVUPD Y2, (SI)
	VMOVUPD Y4, (DX)
	VMOVUPD Y6, (R8)
	VSQRTPD Y6, Y7
	VDIVPD Y15, Y7, Y7        // √vmax/BC2
	VADDPD Y14, Y7, Y7        // + Eps
	VMULPD Y2, Y9, Y5         // Step·m
	VDIVPD Y7, Y5, Y5
	VSUBPD Y5, Y1, Y1         // p·Decay − Step·m/(…)
	VMOVUPD Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNE adamloop
adamdone:
	VZEROUPPER
	RET
