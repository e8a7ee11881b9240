// Package kernels defines the op set every compute backend implements (the Backend
// interface), a naive float32 reference of every op (the oracle the parity tests
// compare against; see Reference), and shape helpers. The DINOv2 backbone and the
// IDEAL head are written once against Backend; cpu/ and gpu/ implement it.
//
// Conventions, for every op:
//   - Tensors live in the backend. Host data crosses only through Upload and Download.
//   - All tensors are float32 and row-major. A "matrix" is a tensor viewed as
//     [Rows, Cols] where Rows is the first axis and Cols the product of the others.
//   - The output is the first argument and is allocated by the caller (Zeros or
//     Upload); ops never allocate outputs, so a model can keep a workspace and run
//     allocation-free in the steady state. Unless an op says otherwise, an output must
//     not alias an input.
//   - Shape mismatches are programming errors and panic with a message naming the op
//     and the shapes; the rules are written once, one Check function per op
//     (CheckMatMul, …), which every backend calls. Operands that pass them are valid:
//     a backend whose kernels have size bounds of their own (the GPU's shared memory)
//     must still run them, by another path if need be, and never panic. Errors of the
//     environment (a lost GPU context) surface from Download or Close.
//   - Optional tensor arguments are nil when absent.
package kernels

// Tensor is a handle to a float32 buffer owned by one Backend. Handles of one backend
// must not be passed to another.
type Tensor interface {
	// Shape returns the tensor's shape. The caller must not modify it.
	Shape() []int
}

// Epilogue is what MatMul applies to each output element after the product, in this
// order: + Bias[col]; GELU (exact, erf) if GELU is set; × Gamma[col] (LayerScale);
// + Residual[row, col]. Every field is optional. Residual may alias dst (in-place
// residual update, x ← x + γ ⊙ f(x)).
type Epilogue struct {
	Bias     Tensor // [N]
	GELU     bool
	Gamma    Tensor // [N]
	Residual Tensor // [M, N]
}

// HostIO is implemented by backends that copy between host memory and an existing
// tensor without allocating (the CPU backend): a caller exchanging activations every
// block (dinov2's Team passes) uses it instead of Download and Upload when present.
type HostIO interface {
	// Read copies t's contents into dst (len(dst) = its element count).
	Read(dst []float32, t Tensor) error
	// Write copies src into t (len(src) = its element count).
	Write(t Tensor, src []float32)
}

// Backend is the op set. See the package comment for the conventions. It holds the
// ops the models call and no more: GELU exists only fused into MatMul's epilogue and
// softmax only inside Attention and NVE, so neither is an op of its own.
type Backend interface {
	// Name identifies the backend and its code path (e.g. "cpu/avx2", "gpu/llvmpipe").
	Name() string

	// Upload copies host data into a new tensor of the given shape; len(data) must
	// equal the shape's element count.
	Upload(data []float32, shape ...int) Tensor
	// Zeros returns a new zero-filled tensor.
	Zeros(shape ...int) Tensor
	// Download copies a tensor's contents to host memory (waiting for pending work).
	Download(t Tensor) ([]float32, error)
	// Free releases a tensor; it must not be used afterwards. Freeing nil is a no-op.
	Free(t Tensor)
	// Close releases the backend and everything it holds.
	Close() error

	// MatMul: dst[M,N] = epilogue(a[M,K] · b), where b is [K,N], or [N,K] used
	// transposed when transB is set (the PyTorch Linear layout: y = x Wᵀ + b).
	MatMul(dst, a, b Tensor, transB bool, ep Epilogue)

	// LayerNorm normalises each row of x[M,C] (biased variance) and applies
	// gamma[C], beta[C]: dst = (x − mean)/sqrt(var + eps) · gamma + beta. dst may alias x.
	LayerNorm(dst, x, gamma, beta Tensor, eps float32)
	// AddScaled: dst = a + s·b, elementwise over equal shapes. dst may alias a or b.
	AddScaled(dst, a, b Tensor, s float32)
	// CopyRows copies n rows of src[Rs,C] starting at row srcStart into dst[Rd,C]
	// starting at row dstStart (concatenation, slicing and token insertion).
	CopyRows(dst Tensor, dstStart int, src Tensor, srcStart, n int)

	// Attention is multi-head scaled dot-product attention without projections:
	// q[Nq,C], k[Nk,C], v[Nk,C] are split into heads of C/heads columns; per head,
	// dst_h = softmax(scale · q_h k_hᵀ + mask) v_h, and dst[Nq,C] holds the heads side
	// by side. mask[Nk] (optional) is added to the logits of every query for key j.
	// Self-attention passes the same tensor for q, k and v (no separate projection).
	Attention(dst, q, k, v, mask Tensor, heads int, scale float32)

	// PatchEmbed is the ViT stem: a conv with kernel = stride = patch over img[3,H,W]
	// with weight w[C,3,patch,patch] and bias[C], giving G_h×G_w tokens in row-major
	// order (G = H/patch). If cls[C] is given, dst has 1+G_h·G_w rows and row 0 is cls;
	// otherwise G_h·G_w rows. If pos (same shape as dst) is given it is added.
	PatchEmbed(dst, img, w, bias, cls, pos Tensor, patch int)

	// Bicubic resizes a grid src[Hi·Wi, C] (row-major grid of C-vectors) to
	// dst[Ho·Wo, C] with PyTorch's bicubic (a = −0.75, align_corners = false, borders
	// clamped); a source coordinate is (dst + 0.5)/scale − 0.5 on each axis, where
	// scaleH, scaleW are the scale factors given to torch's interpolate (when a size
	// is given instead, pass Ho/Hi and Wo/Wi).
	Bicubic(dst, src Tensor, hi, wi, ho, wo int, scaleH, scaleW float64)

	// CosineTopK: for each row i of a[Na,C], the k rows of b[Nb,C] with the highest
	// cosine similarity, in descending order: vals[Na,k] holds the cosines and idx[Na,k]
	// the row numbers of b (as exact float32 integers; Nb ≤ 2^24). Ties go to the lower
	// index. Rows are normalised as torch.nn.functional.normalize does (norm clamped
	// below at 1e-12), so a zero row has cosine 0 to everything. k ≤ Nb.
	CosineTopK(vals, idx, a, b Tensor, k int)

	// NVE is the Normal Variation Eraser (spec §5) for each row f_i of f[Na,C] against
	// the normal patches normals[Nb,C], given that row's top-k neighbours from
	// CosineTopK (vals, idx: [Na,k]): softmax weights over the k cosines, weighted centre
	// μ, residual e = f − μ, the r leading eigenvectors of the weighted local covariance,
	// and dst_i = e − alpha · U Uᵀ e. dst is [Na,C].
	NVE(dst, f, normals, vals, idx Tensor, r int, alpha float32)

	// Projection is the IDE deviation score (spec §7): for each row d_i of d[N,C],
	// p_i = (d_i Tᵀ) T with T = tstar[M,C], and
	// dst[i] = 1 − ‖d_i/‖d_i‖ − p_i/‖p_i‖‖₂ / 2. dst is [N].
	Projection(dst, d, tstar Tensor)
}

// Rows is the first axis of a tensor (1 for a scalar).
func Rows(t Tensor) int {
	s := t.Shape()
	if len(s) == 0 {
		return 1
	}
	return s[0]
}

// Cols is the product of all axes but the first.
func Cols(t Tensor) int {
	s := t.Shape()
	n := 1
	for _, d := range s[min(1, len(s)):] {
		n *= d
	}
	return n
}

// Numel is the element count of a tensor.
func Numel(t Tensor) int { return Rows(t) * Cols(t) }
