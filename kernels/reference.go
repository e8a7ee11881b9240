package kernels

import (
	"fmt"
	"math"
	"sort"
)

// Reference is the naive backend: the oracle every other backend is tested against.
// It stores float32 like the others but accumulates in float64 and uses the most
// literal loops, with no blocking, threading or fusion tricks. It is slow by design.
type Reference struct{}

// NewReference returns the reference backend.
func NewReference() *Reference { return &Reference{} }

// Host is the Reference backend's tensor: plain host memory.
type Host struct {
	shape []int
	Data  []float32
}

// Shape implements Tensor.
func (h *Host) Shape() []int { return h.shape }

func data(t Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.(*Host).Data
}

// Name implements Backend.
func (*Reference) Name() string { return "reference" }

// Upload implements Backend.
func (*Reference) Upload(d []float32, shape ...int) Tensor {
	if n := numel(shape); n != len(d) {
		panic(fmt.Sprintf("kernels: Upload of %d values into shape %v", len(d), shape))
	}
	return &Host{shape: append([]int(nil), shape...), Data: append([]float32(nil), d...)}
}

// Zeros implements Backend.
func (*Reference) Zeros(shape ...int) Tensor {
	return &Host{shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// Download implements Backend.
func (*Reference) Download(t Tensor) ([]float32, error) {
	return append([]float32(nil), data(t)...), nil
}

// Free implements Backend.
func (*Reference) Free(Tensor) {}

// Close implements Backend.
func (*Reference) Close() error { return nil }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("kernels: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// GELUExact is x·Φ(x) with the erf form, in float64, written with erfc
// (1 + erf(x/√2) = erfc(−x/√2)) so the negative tail does not cancel.
func GELUExact(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// MatMul implements Backend.
func (*Reference) MatMul(dst, a, b Tensor, transB bool, ep Epilogue) {
	m, n, k := CheckMatMul(dst, a, b, transB, ep)
	A, B := data(a), data(b)
	bias, gamma, res := data(ep.Bias), data(ep.Gamma), data(ep.Residual)
	out := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				bv := B[p*n+j]
				if transB {
					bv = B[j*k+p]
				}
				s += float64(A[i*k+p]) * float64(bv)
			}
			if bias != nil {
				s += float64(bias[j])
			}
			if ep.GELU {
				s = GELUExact(s)
			}
			if gamma != nil {
				s *= float64(gamma[j])
			}
			if res != nil {
				s += float64(res[i*n+j])
			}
			out[i*n+j] = float32(s)
		}
	}
	copy(data(dst), out)
}

// LayerNorm implements Backend.
func (*Reference) LayerNorm(dst, x, gamma, beta Tensor, eps float32) {
	m, c := CheckLayerNorm(dst, x, gamma, beta)
	X, D, g, bt := data(x), data(dst), data(gamma), data(beta)
	for i := 0; i < m; i++ {
		row := X[i*c : (i+1)*c]
		var mean, v float64
		for _, e := range row {
			mean += float64(e)
		}
		mean /= float64(c)
		for _, e := range row {
			v += (float64(e) - mean) * (float64(e) - mean)
		}
		inv := 1 / math.Sqrt(v/float64(c)+float64(eps))
		for j := range row {
			D[i*c+j] = float32((float64(row[j])-mean)*inv*float64(g[j]) + float64(bt[j]))
		}
	}
}

// AddScaled implements Backend.
func (*Reference) AddScaled(dst, a, b Tensor, s float32) {
	CheckAddScaled(dst, a, b)
	D, A, B := data(dst), data(a), data(b)
	for i := range D {
		D[i] = float32(float64(A[i]) + float64(s)*float64(B[i]))
	}
}

// CopyRows implements Backend.
func (*Reference) CopyRows(dst Tensor, dstStart int, src Tensor, srcStart, n int) {
	c := CheckCopyRows(dst, dstStart, src, srcStart, n)
	copy(data(dst)[dstStart*c:(dstStart+n)*c], data(src)[srcStart*c:(srcStart+n)*c])
}

// Attention implements Backend.
func (*Reference) Attention(dst, q, k, v, mask Tensor, heads int, scale float32) {
	nq, nk, c := CheckAttention(dst, q, k, v, mask, heads)
	Q, K, V, M := data(q), data(k), data(v), data(mask)
	dh := c / heads
	out := make([]float32, nq*c)
	logits := make([]float64, nk)
	for h := 0; h < heads; h++ {
		for i := 0; i < nq; i++ {
			mx := math.Inf(-1)
			for j := 0; j < nk; j++ {
				var s float64
				for d := 0; d < dh; d++ {
					s += float64(Q[i*c+h*dh+d]) * float64(K[j*c+h*dh+d])
				}
				s *= float64(scale)
				if M != nil {
					s += float64(M[j])
				}
				logits[j] = s
				mx = math.Max(mx, s)
			}
			var z float64
			for j := range logits {
				logits[j] = math.Exp(logits[j] - mx)
				z += logits[j]
			}
			for d := 0; d < dh; d++ {
				var s float64
				for j := 0; j < nk; j++ {
					s += logits[j] * float64(V[j*c+h*dh+d])
				}
				out[i*c+h*dh+d] = float32(s / z)
			}
		}
	}
	copy(data(dst), out)
}

// PatchEmbed implements Backend.
func (*Reference) PatchEmbed(dst, img, w, bias, cls, pos Tensor, patch int) {
	c, gh, gw, off := CheckPatchEmbed(dst, img, w, bias, cls, pos, patch)
	I, W, B, D, P := data(img), data(w), data(bias), data(dst), data(pos)
	H, Wd := gh*patch, gw*patch
	if cls != nil {
		copy(D[:c], data(cls))
	}
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			row := off + gy*gw + gx
			for o := 0; o < c; o++ {
				s := float64(B[o])
				for ch := 0; ch < 3; ch++ {
					for ky := 0; ky < patch; ky++ {
						for kx := 0; kx < patch; kx++ {
							s += float64(W[((o*3+ch)*patch+ky)*patch+kx]) * float64(I[(ch*H+gy*patch+ky)*Wd+gx*patch+kx])
						}
					}
				}
				D[row*c+o] = float32(s)
			}
		}
	}
	if P != nil {
		for i := range D {
			D[i] += P[i]
		}
	}
}

// CubicWeights returns PyTorch's bicubic (a = −0.75) taps for fractional offset t.
func CubicWeights(t float64) [4]float64 {
	const a = -0.75
	near := func(x float64) float64 { return ((a+2)*x-(a+3))*x*x + 1 }
	far := func(x float64) float64 { return ((a*x-5*a)*x+8*a)*x - 4*a }
	return [4]float64{far(t + 1), near(t), near(1 - t), far(2 - t)}
}

// BicubicTaps returns, for each output index, the floor source index and the four
// weights, for PyTorch's bicubic with align_corners = false and the given scale.
func BicubicTaps(in, out int, scale float64) (idx []int, w [][4]float64) {
	idx, w = make([]int, out), make([][4]float64, out)
	for o := 0; o < out; o++ {
		src := (float64(o)+0.5)/scale - 0.5
		f := math.Floor(src)
		idx[o], w[o] = int(f), CubicWeights(src-f)
	}
	return idx, w
}

// Bicubic implements Backend.
func (*Reference) Bicubic(dst, src Tensor, hi, wi, ho, wo int, scaleH, scaleW float64) {
	c := CheckBicubic(dst, src, hi, wi, ho, wo)
	S, D := data(src), data(dst)
	yi, yw := BicubicTaps(hi, ho, scaleH)
	xi, xw := BicubicTaps(wi, wo, scaleW)
	clamp := func(v, n int) int { return max(0, min(n-1, v)) }
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			for ch := 0; ch < c; ch++ {
				var s float64
				for a := 0; a < 4; a++ {
					sy := clamp(yi[oy]-1+a, hi)
					var r float64
					for b := 0; b < 4; b++ {
						sx := clamp(xi[ox]-1+b, wi)
						r += xw[ox][b] * float64(S[(sy*wi+sx)*c+ch])
					}
					s += yw[oy][a] * r
				}
				D[(oy*wo+ox)*c+ch] = float32(s)
			}
		}
	}
}

func rowNorm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Max(math.Sqrt(s), 1e-12)
}

// CosineTopK implements Backend.
func (*Reference) CosineTopK(vals, idx, a, b Tensor, k int) {
	na, nb, c := CheckCosineTopK(vals, idx, a, b, k)
	A, B, V, I := data(a), data(b), data(vals), data(idx)
	type cand struct {
		s float64
		j int
	}
	cs := make([]cand, nb)
	for i := 0; i < na; i++ {
		ar := A[i*c : (i+1)*c]
		an := rowNorm(ar)
		for j := 0; j < nb; j++ {
			br := B[j*c : (j+1)*c]
			var s float64
			for d := range ar {
				s += float64(ar[d]) * float64(br[d])
			}
			cs[j] = cand{s / (an * rowNorm(br)), j}
		}
		sort.SliceStable(cs, func(x, y int) bool { return cs[x].s > cs[y].s })
		for t := 0; t < k; t++ {
			V[i*k+t], I[i*k+t] = float32(cs[t].s), float32(cs[t].j)
		}
	}
}

// NVE implements Backend. The k×k eigenproblem is solved by cyclic Jacobi in float64.
func (*Reference) NVE(dst, f, normals, vals, idx Tensor, r int, alpha float32) {
	na, _, c, k := CheckNVE(dst, f, normals, vals, idx, r)
	F, Nr, V, I, D := data(f), data(normals), data(vals), data(idx), data(dst)
	for i := 0; i < na; i++ {
		w := make([]float64, k)
		mx := math.Inf(-1)
		for t := 0; t < k; t++ {
			mx = math.Max(mx, float64(V[i*k+t]))
		}
		var z float64
		for t := 0; t < k; t++ {
			w[t] = math.Exp(float64(V[i*k+t]) - mx)
			z += w[t]
		}
		mu := make([]float64, c)
		rows := make([][]float32, k)
		for t := 0; t < k; t++ {
			w[t] /= z
			rows[t] = Nr[int(I[i*k+t])*c : (int(I[i*k+t])+1)*c]
			for d := 0; d < c; d++ {
				mu[d] += w[t] * float64(rows[t][d])
			}
		}
		X := make([][]float64, k) // √w_t (n_t − μ)
		for t := 0; t < k; t++ {
			X[t] = make([]float64, c)
			sw := math.Sqrt(w[t])
			for d := 0; d < c; d++ {
				X[t][d] = sw * (float64(rows[t][d]) - mu[d])
			}
		}
		G := make([][]float64, k)
		for a := 0; a < k; a++ {
			G[a] = make([]float64, k)
			for b := 0; b < k; b++ {
				for d := 0; d < c; d++ {
					G[a][b] += X[a][d] * X[b][d]
				}
			}
		}
		lam, vec := JacobiEigen(G)
		e := make([]float64, c)
		for d := 0; d < c; d++ {
			e[d] = float64(F[i*c+d]) - mu[d]
		}
		out := append([]float64(nil), e...)
		for l := 0; l < r; l++ {
			u := make([]float64, c)
			s := 1 / math.Sqrt(math.Max(lam[l], 0)+1e-8)
			var nrm float64
			for d := 0; d < c; d++ {
				for t := 0; t < k; t++ {
					u[d] += X[t][d] * vec[t][l]
				}
				u[d] *= s
				nrm += u[d] * u[d]
			}
			nrm = math.Max(math.Sqrt(nrm), 1e-12)
			var dot float64
			for d := range u {
				u[d] /= nrm
				dot += u[d] * e[d]
			}
			for d := range out {
				out[d] -= float64(alpha) * dot * u[d]
			}
		}
		for d := 0; d < c; d++ {
			D[i*c+d] = float32(out[d])
		}
	}
}

// JacobiEigen diagonalises the symmetric matrix g by cyclic Jacobi rotations and
// returns its eigenvalues in descending order and the matching eigenvectors as
// columns (vec[row][l]). g is not modified.
func JacobiEigen(g [][]float64) (lam []float64, vec [][]float64) {
	n := len(g)
	a := make([][]float64, n)
	v := make([][]float64, n)
	for i := range a {
		a[i] = append([]float64(nil), g[i]...)
		v[i] = make([]float64, n)
		v[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off float64
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				cs := 1 / math.Sqrt(t*t+1)
				sn := t * cs
				for r := 0; r < n; r++ { // columns p, q
					arp, arq := a[r][p], a[r][q]
					a[r][p], a[r][q] = cs*arp-sn*arq, sn*arp+cs*arq
				}
				for r := 0; r < n; r++ { // rows p, q
					apr, aqr := a[p][r], a[q][r]
					a[p][r], a[q][r] = cs*apr-sn*aqr, sn*apr+cs*aqr
				}
				for r := 0; r < n; r++ {
					vrp, vrq := v[r][p], v[r][q]
					v[r][p], v[r][q] = cs*vrp-sn*vrq, sn*vrp+cs*vrq
				}
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return a[order[x]][order[x]] > a[order[y]][order[y]] })
	lam = make([]float64, n)
	vec = make([][]float64, n)
	for r := range vec {
		vec[r] = make([]float64, n)
	}
	for l, o := range order {
		lam[l] = a[o][o]
		for r := 0; r < n; r++ {
			vec[r][l] = v[r][o]
		}
	}
	return lam, vec
}

// Projection implements Backend.
func (*Reference) Projection(dst, d, tstar Tensor) {
	n, c, m := CheckProjection(dst, d, tstar)
	Dv, T, O := data(d), data(tstar), data(dst)
	for i := 0; i < n; i++ {
		row := Dv[i*c : (i+1)*c]
		coef := make([]float64, m)
		for a := 0; a < m; a++ {
			for j := 0; j < c; j++ {
				coef[a] += float64(row[j]) * float64(T[a*c+j])
			}
		}
		p := make([]float64, c)
		for a := 0; a < m; a++ {
			for j := 0; j < c; j++ {
				p[j] += coef[a] * float64(T[a*c+j])
			}
		}
		var dn, pn float64
		for j := 0; j < c; j++ {
			dn += float64(row[j]) * float64(row[j])
			pn += p[j] * p[j]
		}
		dn, pn = math.Max(math.Sqrt(dn), 1e-12), math.Max(math.Sqrt(pn), 1e-12)
		var dist float64
		for j := 0; j < c; j++ {
			x := float64(row[j])/dn - p[j]/pn
			dist += x * x
		}
		O[i] = float32(1 - math.Sqrt(dist)/2)
	}
}

var _ Backend = (*Reference)(nil)
