//go:build amd64 && !noasm

#include "textflag.h"

// Constant vectors (8 equal lanes each) for the vector exp and GELU below; the
// values are those of exp32 and gelu32 in math.go.
DATA vc<>+0(SB)/4, $0xc2ae999a
DATA vc<>+4(SB)/4, $0xc2ae999a
DATA vc<>+8(SB)/4, $0xc2ae999a
DATA vc<>+12(SB)/4, $0xc2ae999a
DATA vc<>+16(SB)/4, $0xc2ae999a
DATA vc<>+20(SB)/4, $0xc2ae999a
DATA vc<>+24(SB)/4, $0xc2ae999a
DATA vc<>+28(SB)/4, $0xc2ae999a
DATA vc<>+32(SB)/4, $0x3fb8aa3b
DATA vc<>+36(SB)/4, $0x3fb8aa3b
DATA vc<>+40(SB)/4, $0x3fb8aa3b
DATA vc<>+44(SB)/4, $0x3fb8aa3b
DATA vc<>+48(SB)/4, $0x3fb8aa3b
DATA vc<>+52(SB)/4, $0x3fb8aa3b
DATA vc<>+56(SB)/4, $0x3fb8aa3b
DATA vc<>+60(SB)/4, $0x3fb8aa3b
DATA vc<>+64(SB)/4, $0x3f318000
DATA vc<>+68(SB)/4, $0x3f318000
DATA vc<>+72(SB)/4, $0x3f318000
DATA vc<>+76(SB)/4, $0x3f318000
DATA vc<>+80(SB)/4, $0x3f318000
DATA vc<>+84(SB)/4, $0x3f318000
DATA vc<>+88(SB)/4, $0x3f318000
DATA vc<>+92(SB)/4, $0x3f318000
DATA vc<>+96(SB)/4, $0xb95e8083
DATA vc<>+100(SB)/4, $0xb95e8083
DATA vc<>+104(SB)/4, $0xb95e8083
DATA vc<>+108(SB)/4, $0xb95e8083
DATA vc<>+112(SB)/4, $0xb95e8083
DATA vc<>+116(SB)/4, $0xb95e8083
DATA vc<>+120(SB)/4, $0xb95e8083
DATA vc<>+124(SB)/4, $0xb95e8083
DATA vc<>+128(SB)/4, $0x39500d01
DATA vc<>+132(SB)/4, $0x39500d01
DATA vc<>+136(SB)/4, $0x39500d01
DATA vc<>+140(SB)/4, $0x39500d01
DATA vc<>+144(SB)/4, $0x39500d01
DATA vc<>+148(SB)/4, $0x39500d01
DATA vc<>+152(SB)/4, $0x39500d01
DATA vc<>+156(SB)/4, $0x39500d01
DATA vc<>+160(SB)/4, $0x3ab60b61
DATA vc<>+164(SB)/4, $0x3ab60b61
DATA vc<>+168(SB)/4, $0x3ab60b61
DATA vc<>+172(SB)/4, $0x3ab60b61
DATA vc<>+176(SB)/4, $0x3ab60b61
DATA vc<>+180(SB)/4, $0x3ab60b61
DATA vc<>+184(SB)/4, $0x3ab60b61
DATA vc<>+188(SB)/4, $0x3ab60b61
DATA vc<>+192(SB)/4, $0x3c088889
DATA vc<>+196(SB)/4, $0x3c088889
DATA vc<>+200(SB)/4, $0x3c088889
DATA vc<>+204(SB)/4, $0x3c088889
DATA vc<>+208(SB)/4, $0x3c088889
DATA vc<>+212(SB)/4, $0x3c088889
DATA vc<>+216(SB)/4, $0x3c088889
DATA vc<>+220(SB)/4, $0x3c088889
DATA vc<>+224(SB)/4, $0x3d2aaaab
DATA vc<>+228(SB)/4, $0x3d2aaaab
DATA vc<>+232(SB)/4, $0x3d2aaaab
DATA vc<>+236(SB)/4, $0x3d2aaaab
DATA vc<>+240(SB)/4, $0x3d2aaaab
DATA vc<>+244(SB)/4, $0x3d2aaaab
DATA vc<>+248(SB)/4, $0x3d2aaaab
DATA vc<>+252(SB)/4, $0x3d2aaaab
DATA vc<>+256(SB)/4, $0x3e2aaaab
DATA vc<>+260(SB)/4, $0x3e2aaaab
DATA vc<>+264(SB)/4, $0x3e2aaaab
DATA vc<>+268(SB)/4, $0x3e2aaaab
DATA vc<>+272(SB)/4, $0x3e2aaaab
DATA vc<>+276(SB)/4, $0x3e2aaaab
DATA vc<>+280(SB)/4, $0x3e2aaaab
DATA vc<>+284(SB)/4, $0x3e2aaaab
DATA vc<>+288(SB)/4, $0x3f000000
DATA vc<>+292(SB)/4, $0x3f000000
DATA vc<>+296(SB)/4, $0x3f000000
DATA vc<>+300(SB)/4, $0x3f000000
DATA vc<>+304(SB)/4, $0x3f000000
DATA vc<>+308(SB)/4, $0x3f000000
DATA vc<>+312(SB)/4, $0x3f000000
DATA vc<>+316(SB)/4, $0x3f000000
DATA vc<>+320(SB)/4, $0x3f800000
DATA vc<>+324(SB)/4, $0x3f800000
DATA vc<>+328(SB)/4, $0x3f800000
DATA vc<>+332(SB)/4, $0x3f800000
DATA vc<>+336(SB)/4, $0x3f800000
DATA vc<>+340(SB)/4, $0x3f800000
DATA vc<>+344(SB)/4, $0x3f800000
DATA vc<>+348(SB)/4, $0x3f800000
DATA vc<>+352(SB)/4, $0x0000007f
DATA vc<>+356(SB)/4, $0x0000007f
DATA vc<>+360(SB)/4, $0x0000007f
DATA vc<>+364(SB)/4, $0x0000007f
DATA vc<>+368(SB)/4, $0x0000007f
DATA vc<>+372(SB)/4, $0x0000007f
DATA vc<>+376(SB)/4, $0x0000007f
DATA vc<>+380(SB)/4, $0x0000007f
DATA vc<>+384(SB)/4, $0x3f3504f3
DATA vc<>+388(SB)/4, $0x3f3504f3
DATA vc<>+392(SB)/4, $0x3f3504f3
DATA vc<>+396(SB)/4, $0x3f3504f3
DATA vc<>+400(SB)/4, $0x3f3504f3
DATA vc<>+404(SB)/4, $0x3f3504f3
DATA vc<>+408(SB)/4, $0x3f3504f3
DATA vc<>+412(SB)/4, $0x3f3504f3
DATA vc<>+416(SB)/4, $0x7fffffff
DATA vc<>+420(SB)/4, $0x7fffffff
DATA vc<>+424(SB)/4, $0x7fffffff
DATA vc<>+428(SB)/4, $0x7fffffff
DATA vc<>+432(SB)/4, $0x7fffffff
DATA vc<>+436(SB)/4, $0x7fffffff
DATA vc<>+440(SB)/4, $0x7fffffff
DATA vc<>+444(SB)/4, $0x7fffffff
DATA vc<>+448(SB)/4, $0x3f000000
DATA vc<>+452(SB)/4, $0x3f000000
DATA vc<>+456(SB)/4, $0x3f000000
DATA vc<>+460(SB)/4, $0x3f000000
DATA vc<>+464(SB)/4, $0x3f000000
DATA vc<>+468(SB)/4, $0x3f000000
DATA vc<>+472(SB)/4, $0x3f000000
DATA vc<>+476(SB)/4, $0x3f000000
DATA vc<>+480(SB)/4, $0x40000000
DATA vc<>+484(SB)/4, $0x40000000
DATA vc<>+488(SB)/4, $0x40000000
DATA vc<>+492(SB)/4, $0x40000000
DATA vc<>+496(SB)/4, $0x40000000
DATA vc<>+500(SB)/4, $0x40000000
DATA vc<>+504(SB)/4, $0x40000000
DATA vc<>+508(SB)/4, $0x40000000
DATA vc<>+512(SB)/4, $0x3e2ef945
DATA vc<>+516(SB)/4, $0x3e2ef945
DATA vc<>+520(SB)/4, $0x3e2ef945
DATA vc<>+524(SB)/4, $0x3e2ef945
DATA vc<>+528(SB)/4, $0x3e2ef945
DATA vc<>+532(SB)/4, $0x3e2ef945
DATA vc<>+536(SB)/4, $0x3e2ef945
DATA vc<>+540(SB)/4, $0x3e2ef945
DATA vc<>+544(SB)/4, $0xbf527892
DATA vc<>+548(SB)/4, $0xbf527892
DATA vc<>+552(SB)/4, $0xbf527892
DATA vc<>+556(SB)/4, $0xbf527892
DATA vc<>+560(SB)/4, $0xbf527892
DATA vc<>+564(SB)/4, $0xbf527892
DATA vc<>+568(SB)/4, $0xbf527892
DATA vc<>+572(SB)/4, $0xbf527892
DATA vc<>+576(SB)/4, $0x3fbe87b0
DATA vc<>+580(SB)/4, $0x3fbe87b0
DATA vc<>+584(SB)/4, $0x3fbe87b0
DATA vc<>+588(SB)/4, $0x3fbe87b0
DATA vc<>+592(SB)/4, $0x3fbe87b0
DATA vc<>+596(SB)/4, $0x3fbe87b0
DATA vc<>+600(SB)/4, $0x3fbe87b0
DATA vc<>+604(SB)/4, $0x3fbe87b0
DATA vc<>+608(SB)/4, $0xbf914e5d
DATA vc<>+612(SB)/4, $0xbf914e5d
DATA vc<>+616(SB)/4, $0xbf914e5d
DATA vc<>+620(SB)/4, $0xbf914e5d
DATA vc<>+624(SB)/4, $0xbf914e5d
DATA vc<>+628(SB)/4, $0xbf914e5d
DATA vc<>+632(SB)/4, $0xbf914e5d
DATA vc<>+636(SB)/4, $0xbf914e5d
DATA vc<>+640(SB)/4, $0x3e8ec7cc
DATA vc<>+644(SB)/4, $0x3e8ec7cc
DATA vc<>+648(SB)/4, $0x3e8ec7cc
DATA vc<>+652(SB)/4, $0x3e8ec7cc
DATA vc<>+656(SB)/4, $0x3e8ec7cc
DATA vc<>+660(SB)/4, $0x3e8ec7cc
DATA vc<>+664(SB)/4, $0x3e8ec7cc
DATA vc<>+668(SB)/4, $0x3e8ec7cc
DATA vc<>+672(SB)/4, $0xbe3ec24c
DATA vc<>+676(SB)/4, $0xbe3ec24c
DATA vc<>+680(SB)/4, $0xbe3ec24c
DATA vc<>+684(SB)/4, $0xbe3ec24c
DATA vc<>+688(SB)/4, $0xbe3ec24c
DATA vc<>+692(SB)/4, $0xbe3ec24c
DATA vc<>+696(SB)/4, $0xbe3ec24c
DATA vc<>+700(SB)/4, $0xbe3ec24c
DATA vc<>+704(SB)/4, $0x3dc636c9
DATA vc<>+708(SB)/4, $0x3dc636c9
DATA vc<>+712(SB)/4, $0x3dc636c9
DATA vc<>+716(SB)/4, $0x3dc636c9
DATA vc<>+720(SB)/4, $0x3dc636c9
DATA vc<>+724(SB)/4, $0x3dc636c9
DATA vc<>+728(SB)/4, $0x3dc636c9
DATA vc<>+732(SB)/4, $0x3dc636c9
DATA vc<>+736(SB)/4, $0x3ebf88fb
DATA vc<>+740(SB)/4, $0x3ebf88fb
DATA vc<>+744(SB)/4, $0x3ebf88fb
DATA vc<>+748(SB)/4, $0x3ebf88fb
DATA vc<>+752(SB)/4, $0x3ebf88fb
DATA vc<>+756(SB)/4, $0x3ebf88fb
DATA vc<>+760(SB)/4, $0x3ebf88fb
DATA vc<>+764(SB)/4, $0x3ebf88fb
DATA vc<>+768(SB)/4, $0x3f8000c7
DATA vc<>+772(SB)/4, $0x3f8000c7
DATA vc<>+776(SB)/4, $0x3f8000c7
DATA vc<>+780(SB)/4, $0x3f8000c7
DATA vc<>+784(SB)/4, $0x3f8000c7
DATA vc<>+788(SB)/4, $0x3f8000c7
DATA vc<>+792(SB)/4, $0x3f8000c7
DATA vc<>+796(SB)/4, $0x3f8000c7
DATA vc<>+800(SB)/4, $0xbfa1fc4e
DATA vc<>+804(SB)/4, $0xbfa1fc4e
DATA vc<>+808(SB)/4, $0xbfa1fc4e
DATA vc<>+812(SB)/4, $0xbfa1fc4e
DATA vc<>+816(SB)/4, $0xbfa1fc4e
DATA vc<>+820(SB)/4, $0xbfa1fc4e
DATA vc<>+824(SB)/4, $0xbfa1fc4e
DATA vc<>+828(SB)/4, $0xbfa1fc4e
GLOBL vc<>(SB), RODATA|NOPTR, $832

#define MINX vc<>+0(SB)
#define LOG2E vc<>+32(SB)
#define LN2HI vc<>+64(SB)
#define LN2LO vc<>+96(SB)
#define C7 vc<>+128(SB)
#define C6 vc<>+160(SB)
#define C5 vc<>+192(SB)
#define C4 vc<>+224(SB)
#define C3 vc<>+256(SB)
#define C2 vc<>+288(SB)
#define ONE vc<>+320(SB)
#define BIAS vc<>+352(SB)
#define RSQRT2 vc<>+384(SB)
#define ABS vc<>+416(SB)
#define HALF vc<>+448(SB)
#define TWO vc<>+480(SB)
#define E9 vc<>+512(SB)
#define E8 vc<>+544(SB)
#define E7 vc<>+576(SB)
#define E6 vc<>+608(SB)
#define E5 vc<>+640(SB)
#define E4 vc<>+672(SB)
#define E3 vc<>+704(SB)
#define E2 vc<>+736(SB)
#define E1 vc<>+768(SB)
#define E0 vc<>+800(SB)

// EXP: Y0 = exp(Y0) for Y0 ≤ 88 (inputs below −87.3 give 0); clobbers Y1–Y4.
#define EXP \
	VCMPPS $0x1d, MINX, Y0, Y4; \
	VMAXPS MINX, Y0, Y0; \
	VMULPS LOG2E, Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VMOVAPS Y0, Y2; \
	VFNMADD231PS LN2HI, Y1, Y2; \
	VFNMADD231PS LN2LO, Y1, Y2; \
	VMOVUPS C7, Y3; \
	VFMADD213PS C6, Y2, Y3; \
	VFMADD213PS C5, Y2, Y3; \
	VFMADD213PS C4, Y2, Y3; \
	VFMADD213PS C3, Y2, Y3; \
	VFMADD213PS C2, Y2, Y3; \
	VFMADD213PS ONE, Y2, Y3; \
	VFMADD213PS ONE, Y2, Y3; \
	VCVTPS2DQ Y1, Y1; \
	VPADDD BIAS, Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y1, Y3, Y0; \
	VANDPS Y4, Y0, Y0

// func expShiftSumAVX2(dst, x *float32, n int, shift float32) float32
// dst[i] = exp(x[i] − shift) for i < n (n a multiple of 8); returns the sum.
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y9
	VXORPS Y10, Y10, Y10
	SHRQ $3, CX
	JEQ expdone
exploop:
	VMOVUPS (SI), Y0
	VSUBPS Y9, Y0, Y0
	EXP
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y10, Y10
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE exploop
expdone:
	VEXTRACTF128 $1, Y10, X11
	VADDPS X11, X10, X10
	VHADDPS X10, X10, X10
	VHADDPS X10, X10, X10
	VZEROUPPER
	MOVSS X10, ret+32(FP)
	RET

// func geluAVX2(dst, x *float32, n int)
// dst[i] = gelu(x[i]) for i < n (n a multiple of 8), as gelu32.
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ geludone
geluloop:
	VMOVUPS (SI), Y5
	VMULPS RSQRT2, Y5, Y6
	VANDPS ABS, Y6, Y6
	VMULPS HALF, Y6, Y7
	VADDPS ONE, Y7, Y7
	VMOVUPS ONE, Y8
	VDIVPS Y7, Y8, Y7
	VMOVUPS E9, Y0
	VFMADD213PS E8, Y7, Y0
	VFMADD213PS E7, Y7, Y0
	VFMADD213PS E6, Y7, Y0
	VFMADD213PS E5, Y7, Y0
	VFMADD213PS E4, Y7, Y0
	VFMADD213PS E3, Y7, Y0
	VFMADD213PS E2, Y7, Y0
	VFMADD213PS E1, Y7, Y0
	VFMADD213PS E0, Y7, Y0
	VFNMADD231PS Y6, Y6, Y0
	EXP
	VMULPS Y7, Y0, Y0
	VMOVUPS TWO, Y1
	VSUBPS Y0, Y1, Y1
	VBLENDVPS Y5, Y0, Y1, Y1
	VMULPS HALF, Y5, Y5
	VMULPS Y1, Y5, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE geluloop
geludone:
	VZEROUPPER
	RET

// func addAVX2(dst, x *float32, n int)
// dst[i] += x[i] for i < n (n a multiple of 8).
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ adddone
addloop:
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE addloop
adddone:
	VZEROUPPER
	RET

// func mulAVX2(dst, x *float32, n int)
// dst[i] *= x[i] for i < n (n a multiple of 8).
TEXT ·mulAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ muldone
mulloop:
	VMOVUPS (DI), Y0
	VMULPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE mulloop
muldone:
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float32
// Σ x[i] for i < n (n a multiple of 8), in eight float32 lanes.
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JEQ sumdone
sumloop:
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNE sumloop
sumdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func sumSqDevAVX2(x *float32, n int, mean float32) float32
// Σ (x[i] − mean)² for i < n (n a multiple of 8).
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mean+16(FP), Y2
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JEQ sqdone
sqloop:
	VMOVUPS (SI), Y1
	VSUBPS Y2, Y1, Y1
	VFMADD231PS Y1, Y1, Y0
	ADDQ $32, SI
	DECQ CX
	JNE sqloop
sqdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func normAffineAVX2(dst, x, gamma, beta *float32, n int, mean, inv float32)
// dst[i] = (x[i] − mean)·inv·gamma[i] + beta[i] for i < n (n a multiple of 8).
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y2
	VBROADCASTSS inv+44(FP), Y3
	SHRQ $3, CX
	JEQ nadone
naloop:
	VMOVUPS (SI), Y0
	VSUBPS Y2, Y0, Y0
	VMULPS Y3, Y0, Y0
	VMOVUPS (R9), Y1
	VFMADD231PS (R8), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNE naloop
nadone:
	VZEROUPPER
	RET

// func expShiftSumAVX512(dst, x *float32, n int, shift float32) float32
// expShiftSumAVX2 with sixteen lanes (n a multiple of 16); the constants live in
// Z16–Z27.
TEXT ·expShiftSumAVX512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Z9
	VPXORD Z10, Z10, Z10
	VBROADCASTSS MINX, Z16
	VBROADCASTSS LOG2E, Z17
	VBROADCASTSS LN2HI, Z18
	VBROADCASTSS LN2LO, Z19
	VBROADCASTSS C7, Z20
	VBROADCASTSS C6, Z21
	VBROADCASTSS C5, Z22
	VBROADCASTSS C4, Z23
	VBROADCASTSS C3, Z24
	VBROADCASTSS C2, Z25
	VBROADCASTSS ONE, Z26
	VPBROADCASTD BIAS, Z27
	SHRQ $4, CX
	JEQ exp512done
exp512loop:
	VMOVUPS (SI), Z0
	VSUBPS Z9, Z0, Z0
	VCMPPS $0x1d, Z16, Z0, K1
	VMAXPS Z16, Z0, Z0
	VMULPS Z17, Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VMOVAPS Z0, Z2
	VFNMADD231PS Z18, Z1, Z2
	VFNMADD231PS Z19, Z1, Z2
	VMOVAPS Z20, Z3
	VFMADD213PS Z21, Z2, Z3
	VFMADD213PS Z22, Z2, Z3
	VFMADD213PS Z23, Z2, Z3
	VFMADD213PS Z24, Z2, Z3
	VFMADD213PS Z25, Z2, Z3
	VFMADD213PS Z26, Z2, Z3
	VFMADD213PS Z26, Z2, Z3
	VCVTPS2DQ Z1, Z1
	VPADDD Z27, Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS.Z Z1, Z3, K1, Z0
	VMOVUPS Z0, (DI)
	VADDPS Z0, Z10, Z10
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE exp512loop
exp512done:
	VEXTRACTF64X4 $1, Z10, Y11
	VADDPS Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPS X11, X10, X10
	VHADDPS X10, X10, X10
	VHADDPS X10, X10, X10
	VZEROUPPER
	MOVSS X10, ret+32(FP)
	RET

// func dot64AVX2(a, b *float64, n int) float64
// Σ a[i]·b[i] for i < n (n a multiple of 8), in two four-lane accumulators.
TEXT ·dot64AVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	SHRQ $3, CX
	JEQ dotdone
dotloop:
	VMOVUPD (SI), Y2
	VFMADD231PD (DI), Y2, Y0
	VMOVUPD 32(SI), Y3
	VFMADD231PD 32(DI), Y3, Y1
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE dotloop
dotdone:
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET

// func axpy64AVX2(dst, x *float64, n int, alpha float64)
// dst[i] += alpha·x[i] for i < n (n a multiple of 4).
TEXT ·axpy64AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD alpha+24(FP), Y1
	SHRQ $2, CX
	JEQ axpydone
axpyloop:
	VMOVUPD (DI), Y0
	VFMADD231PD (SI), Y1, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE axpyloop
axpydone:
	VZEROUPPER
	RET

// func geluAVX512(dst, x *float32, n int)
// geluAVX2 with sixteen lanes (n a multiple of 16), bit-identical to it. Constants:
// E9–E3 in Z8–Z14, the sign mask in Z15, the exp constants in Z16–Z27, RSQRT2, ABS,
// HALF, TWO in Z28–Z31; E2–E0 are broadcast from memory.
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS E9, Z8
	VBROADCASTSS E8, Z9
	VBROADCASTSS E7, Z10
	VBROADCASTSS E6, Z11
	VBROADCASTSS E5, Z12
	VBROADCASTSS E4, Z13
	VBROADCASTSS E3, Z14
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z15
	VBROADCASTSS MINX, Z16
	VBROADCASTSS LOG2E, Z17
	VBROADCASTSS LN2HI, Z18
	VBROADCASTSS LN2LO, Z19
	VBROADCASTSS C7, Z20
	VBROADCASTSS C6, Z21
	VBROADCASTSS C5, Z22
	VBROADCASTSS C4, Z23
	VBROADCASTSS C3, Z24
	VBROADCASTSS C2, Z25
	VBROADCASTSS ONE, Z26
	VPBROADCASTD BIAS, Z27
	VBROADCASTSS RSQRT2, Z28
	VPBROADCASTD ABS, Z29
	VBROADCASTSS HALF, Z30
	VBROADCASTSS TWO, Z31
	SHRQ $4, CX
	JEQ gelu512done
gelu512loop:
	VMOVUPS (SI), Z5
	VMULPS Z28, Z5, Z6
	VPANDD Z29, Z6, Z6
	VMULPS Z30, Z6, Z7
	VADDPS Z26, Z7, Z7
	VDIVPS Z7, Z26, Z7
	VMOVAPS Z8, Z0
	VFMADD213PS Z9, Z7, Z0
	VFMADD213PS Z10, Z7, Z0
	VFMADD213PS Z11, Z7, Z0
	VFMADD213PS Z12, Z7, Z0
	VFMADD213PS Z13, Z7, Z0
	VFMADD213PS Z14, Z7, Z0
	VBROADCASTSS E2, Z1
	VFMADD213PS Z1, Z7, Z0
	VBROADCASTSS E1, Z1
	VFMADD213PS Z1, Z7, Z0
	VBROADCASTSS E0, Z1
	VFMADD213PS Z1, Z7, Z0
	VFNMADD231PS Z6, Z6, Z0
	VCMPPS $0x1d, Z16, Z0, K1
	VMAXPS Z16, Z0, Z0
	VMULPS Z17, Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VMOVAPS Z0, Z2
	VFNMADD231PS Z18, Z1, Z2
	VFNMADD231PS Z19, Z1, Z2
	VMOVAPS Z20, Z3
	VFMADD213PS Z21, Z2, Z3
	VFMADD213PS Z22, Z2, Z3
	VFMADD213PS Z23, Z2, Z3
	VFMADD213PS Z24, Z2, Z3
	VFMADD213PS Z25, Z2, Z3
	VFMADD213PS Z26, Z2, Z3
	VFMADD213PS Z26, Z2, Z3
	VCVTPS2DQ Z1, Z1
	VPADDD Z27, Z1, Z1
	VPSLLD $23, Z1, Z1
	VMULPS.Z Z1, Z3, K1, Z0
	VMULPS Z7, Z0, Z0
	VSUBPS Z0, Z31, Z1
	VPTESTMD Z15, Z5, K2
	VMOVAPS Z0, K2, Z1
	VMULPS Z30, Z5, Z5
	VMULPS Z1, Z5, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE gelu512loop
gelu512done:
	VZEROUPPER
	RET
