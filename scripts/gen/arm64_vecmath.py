# Appends the NEON vector helpers to cpu/kernel_arm64.s (see arm64_kernel.py for the command).
def enc3(base, d, n, m): return base | (m << 16) | (n << 5) | d
def enc2(base, d, n): return base | (n << 5) | d
def elem(base, d, n, m, i): return base | ((i & 1) << 21) | (m << 16) | ((i >> 1) << 11) | (n << 5) | d

out = []
def w(s=""): out.append(s)
def W(enc, text): w("\tWORD $0x%08x // %s" % (enc, text))

def FMLAe(d, n, m, i): W(elem(0x4F801000, d, n, m, i), "FMLA V%d.4S, V%d.4S, V%d.S[%d]" % (d, n, m, i))
def FMLSe(d, n, m, i): W(elem(0x4F805000, d, n, m, i), "FMLS V%d.4S, V%d.4S, V%d.S[%d]" % (d, n, m, i))
def FMULe(d, n, m, i): W(elem(0x4F809000, d, n, m, i), "FMUL V%d.4S, V%d.4S, V%d.S[%d]" % (d, n, m, i))
def op3(name, base):
    def f(d, n, m): W(enc3(base, d, n, m), "%s V%d.4S, V%d.4S, V%d.4S" % (name, d, n, m))
    return f
FMLA = op3("FMLA", 0x4E20CC00); FMLS = op3("FMLS", 0x4EA0CC00)
FADD = op3("FADD", 0x4E20D400); FSUB = op3("FSUB", 0x4EA0D400)
FMUL = op3("FMUL", 0x6E20DC00); FDIV = op3("FDIV", 0x6E20FC00)
FMAX = op3("FMAX", 0x4E20F400); FCMGE = op3("FCMGE", 0x6E20E400)
FADDP = op3("FADDP", 0x6E20D400); ADD = op3("ADD", 0x4EA08400)
def AND(d, n, m): W(enc3(0x4E201C00, d, n, m), "AND V%d.16B, V%d.16B, V%d.16B" % (d, n, m))
def BIT(d, n, m): W(enc3(0x6EA01C00, d, n, m), "BIT V%d.16B, V%d.16B, V%d.16B" % (d, n, m))
def FRINTN(d, n): W(enc2(0x4E218800, d, n), "FRINTN V%d.4S, V%d.4S" % (d, n))
def FCVTZS(d, n): W(enc2(0x4EA1B800, d, n), "FCVTZS V%d.4S, V%d.4S" % (d, n))
def FABS(d, n): W(enc2(0x4EA0F800, d, n), "FABS V%d.4S, V%d.4S" % (d, n))
def CMLTZ(d, n): W(enc2(0x4EA0A800, d, n), "CMLT V%d.4S, V%d.4S, #0" % (d, n))
def FMAXV(d, n): W(enc2(0x6E30F800, d, n), "FMAXV S%d, V%d.4S" % (d, n))
def SHL(d, n, sh): W(0x4F005400 | ((32 + sh) << 16) | (n << 5) | d, "SHL V%d.4S, V%d.4S, #%d" % (d, n, sh))

# Constant slots (float32 bits; BIAS is the integer 127): the values of exp32 and
# gelu32 in math.go, as in vecmath_amd64.s.
consts = [("MINX", 0xc2ae999a), ("LOG2E", 0x3fb8aa3b), ("LN2HI", 0x3f318000), ("LN2LO", 0xb95e8083),
          ("C7", 0x39500d01), ("C6", 0x3ab60b61), ("C5", 0x3c088889), ("C4", 0x3d2aaaab),
          ("C3", 0x3e2aaaab), ("C2", 0x3f000000), ("ONE", 0x3f800000), ("BIAS", 0x0000007f),
          ("RSQRT2", 0x3f3504f3), ("HALF", 0x3f000000), ("TWO", 0x40000000),
          ("E9", 0x3e2ef945), ("E8", 0xbf527892), ("E7", 0x3fbe87b0), ("E6", 0xbf914e5d),
          ("E5", 0x3e8ec7cc), ("E4", 0xbe3ec24c), ("E3", 0x3dc636c9), ("E2", 0x3ebf88fb),
          ("E1", 0x3f8000c7), ("E0", 0xbfa1fc4e)]
CREG0 = 25
slot = {name: i for i, (name, _) in enumerate(consts)}
def C(name): i = slot[name]; return CREG0 + i // 4, i % 4
def DUP(d, name):
    r, l = C(name)
    w("\tVDUP V%d.S[%d], V%d.S4 // %s" % (r, l, d, name))

w()
w("// Constants of the vector exp and GELU below (one float32 each, loaded into")
w("// V25-V31 and used by lane): the values of exp32 and gelu32 in math.go, as in")
w("// vecmath_amd64.s; BIAS is the integer 127. Go's arm64 assembler lacks most")
w("// vector floating-point mnemonics (FADD, FMUL, FDIV, FMAX, FCMGE, FRINTN, FCVTZS,")
w("// by-element FMUL/FMLA/FMLS, ...), so those are WORD encodings too, each with its")
w("// instruction in the comment (all checked against llvm-objdump's disassembly).")
for i, (name, bits) in enumerate(consts):
    w("DATA neonc<>+%d(SB)/4, $0x%08x // %s" % (4 * i, bits, name))
for i in range(len(consts), 28):
    w("DATA neonc<>+%d(SB)/4, $0" % (4 * i))
w("GLOBL neonc<>(SB), RODATA|NOPTR, $112")
w()

def load_consts():
    w("\tMOVD $neonc<>(SB), R9")
    w("\tVLD1.P 64(R9), [V25.S4, V26.S4, V27.S4, V28.S4]")
    w("\tVLD1 (R9), [V29.S4, V30.S4, V31.S4]")

# Per-chain registers: chain c uses V(8c)..V(8c+7).
class Ch:
    def __init__(s, c):
        b = 8 * c
        s.X, s.M, s.N, s.P, s.Q, s.AZ, s.T, s.E = range(b, b + 8)

def both(chs, f):
    for c in chs:
        f(c)

def EXP(chs, reg):
    # reg(c) = exp(reg(c)) for reg ≤ 88 (below −87.3: 0; NaN: 0); clobbers M, N, P, Q.
    for c in chs: DUP(c.Q, "MINX")
    for c in chs: FCMGE(c.M, reg(c), c.Q)
    for c in chs: FMAX(reg(c), reg(c), c.Q)
    for c in chs: FMULe(c.N, reg(c), *C("LOG2E"))
    for c in chs: FRINTN(c.N, c.N)
    for c in chs: FMLSe(reg(c), c.N, *C("LN2HI"))
    for c in chs: FMLSe(reg(c), c.N, *C("LN2LO"))
    for c in chs: DUP(c.P, "C6")
    for c in chs: FMLAe(c.P, reg(c), *C("C7"))
    cur = {id(c): (c.P, c.Q) for c in chs}
    for k in ["C5", "C4", "C3", "C2", "ONE", "ONE"]:
        for c in chs:
            p, q = cur[id(c)]
            DUP(q, k)
        for c in chs:
            p, q = cur[id(c)]
            FMLA(q, p, reg(c))
            cur[id(c)] = (q, p)
    for c in chs: FCVTZS(c.N, c.N)
    for c in chs:
        p, q = cur[id(c)]
        DUP(q, "BIAS")
    for c in chs:
        p, q = cur[id(c)]
        ADD(c.N, c.N, q)
    for c in chs: SHL(c.N, c.N, 23)
    for c in chs:
        p, q = cur[id(c)]
        FMUL(reg(c), p, c.N)
    for c in chs: AND(reg(c), reg(c), c.M)

chs = [Ch(0), Ch(1)]

# ---- expShiftSumNEON
w("// func expShiftSumNEON(dst, x *float32, n int, shift float32) float32")
w("//")
w("// dst[i] = exp(x[i] − shift) for i < n (n a multiple of 8), as expShiftSumAVX2;")
w("// returns the sum. Two four-lane chains per step; V24 holds the shift.")
w("TEXT ·expShiftSumNEON(SB), NOSPLIT, $0-36")
w("\tMOVD dst+0(FP), R0")
w("\tMOVD x+8(FP), R1")
w("\tMOVD n+16(FP), R2")
w("\tFMOVS shift+24(FP), F24")
w("\tVDUP V24.S[0], V24.S4")
load_consts()
w("\tVEOR V6.B16, V6.B16, V6.B16")
w("\tVEOR V14.B16, V14.B16, V14.B16")
w("\tLSR $3, R2, R2")
w("\tCBZ R2, done")
w()
w("loop:")
for c in chs: w("\tVLD1.P 16(R1), [V%d.S4]" % c.X)
for c in chs: FSUB(c.X, c.X, 24)
EXP(chs, lambda c: c.X)
for c in chs: w("\tVST1.P [V%d.S4], 16(R0)" % c.X)
for c in chs: FADD(c.T, c.T, c.X)   # T (V6, V14) is the chain's sum
w("\tSUBS $1, R2, R2")
w("\tBNE loop")
w()
w("done:")
FADD(6, 6, 14)
FADDP(6, 6, 6)
FADDP(6, 6, 6)
w("\tFMOVS F6, ret+32(FP)")
w("\tRET")
w()

# ---- geluNEON
w("// func geluNEON(dst, x *float32, n int)")
w("//")
w("// dst[i] = gelu(x[i]) for i < n (n a multiple of 8), as geluAVX2: x/2·erfc(−x/√2)")
w("// with erfc(|z|) = t·exp(−z² + P(t)), t = 1/(1 + |z|/2), and 2 − erfc(|z|) for")
w("// x ≥ +0 (sign bit clear). Two four-lane chains per step.")
w("TEXT ·geluNEON(SB), NOSPLIT, $0-24")
w("\tMOVD dst+0(FP), R0")
w("\tMOVD x+8(FP), R1")
w("\tMOVD n+16(FP), R2")
load_consts()
w("\tLSR $3, R2, R2")
w("\tCBZ R2, done")
w()
w("loop:")
for c in chs: w("\tVLD1.P 16(R1), [V%d.S4]" % c.X)
for c in chs: FMULe(c.AZ, c.X, *C("RSQRT2"))
for c in chs: FABS(c.AZ, c.AZ)
for c in chs: DUP(c.T, "ONE")
for c in chs: FMLAe(c.T, c.AZ, *C("HALF"))
for c in chs: DUP(c.Q, "ONE")
for c in chs: FDIV(c.T, c.Q, c.T)
for c in chs: DUP(c.P, "E8")
for c in chs: FMLAe(c.P, c.T, *C("E9"))
cur = {id(c): (c.P, c.Q) for c in chs}
for k in ["E7", "E6", "E5", "E4", "E3", "E2", "E1", "E0"]:
    for c in chs:
        p, q = cur[id(c)]
        DUP(c.E if k == "E0" else q, k)
    for c in chs:
        p, q = cur[id(c)]
        FMLA(c.E if k == "E0" else q, p, c.T)
        cur[id(c)] = (q, p)
for c in chs: FMLS(c.E, c.AZ, c.AZ)
EXP(chs, lambda c: c.E)
for c in chs: FMUL(c.E, c.E, c.T)        # erfc(|z|)
for c in chs: DUP(c.Q, "TWO")
for c in chs: FSUB(c.Q, c.Q, c.E)
for c in chs: CMLTZ(c.M, c.X)
for c in chs: BIT(c.Q, c.E, c.M)
for c in chs: FMULe(c.X, c.X, *C("HALF"))
for c in chs: FMUL(c.X, c.X, c.Q)
for c in chs: w("\tVST1.P [V%d.S4], 16(R0)" % c.X)
w("\tSUBS $1, R2, R2")
w("\tBNE loop")
w()
w("done:")
w("\tRET")
w()

# ---- add / mul
for name, op, sym in [("addNEON", FADD, "+="), ("mulNEON", FMUL, "*=")]:
    w("// func %s(dst, x *float32, n int)" % name)
    w("//")
    w("// dst[i] %s x[i] for i < n (n a multiple of 8)." % sym)
    w("TEXT ·%s(SB), NOSPLIT, $0-24" % name)
    w("\tMOVD dst+0(FP), R0")
    w("\tMOVD x+8(FP), R1")
    w("\tMOVD n+16(FP), R2")
    w("\tLSR $3, R2, R2")
    w("\tCBZ R2, done")
    w()
    w("loop:")
    w("\tVLD1 (R0), [V0.S4, V1.S4]")
    w("\tVLD1.P 32(R1), [V2.S4, V3.S4]")
    op(0, 0, 2)
    op(1, 1, 3)
    w("\tVST1.P [V0.S4, V1.S4], 32(R0)")
    w("\tSUBS $1, R2, R2")
    w("\tBNE loop")
    w()
    w("done:")
    w("\tRET")
    w()

# ---- max
w("// func maxNEON(x *float32, n int) float32")
w("//")
w("// The maximum of x[i] for i < n (n a positive multiple of 8); NaN if any is NaN")
w("// (FMAX, like Go's max).")
w("TEXT ·maxNEON(SB), NOSPLIT, $0-20")
w("\tMOVD x+0(FP), R0")
w("\tMOVD n+8(FP), R2")
w("\tVLD1.P 32(R0), [V0.S4, V1.S4]")
w("\tLSR $3, R2, R2")
w("\tSUBS $1, R2, R2")
w("\tBEQ done")
w()
w("loop:")
w("\tVLD1.P 32(R0), [V2.S4, V3.S4]")
FMAX(0, 0, 2)
FMAX(1, 1, 3)
w("\tSUBS $1, R2, R2")
w("\tBNE loop")
w()
w("done:")
FMAX(0, 0, 1)
FMAXV(0, 0)
w("\tFMOVS F0, ret+16(FP)")
w("\tRET")
print("\n".join(out))
