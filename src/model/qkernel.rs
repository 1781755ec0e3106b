//! CPU matrix–vector kernels for GGUF Q4_1 and Q8_0 weights.
//!
//! candle's Q4_1 kernel is slow and its Q8_0 kernel converts the f16 block
//! scales one by one; chat decoding is spent almost entirely in these
//! products. Here the blocks are split once at load time into plain arrays
//! (f32 scales, packed quants); activations are quantized to int8 per block
//! of 32 (as llama.cpp's Q8_1); the dot products run on AVX2 with
//! `maddubs`/`madd`, rows are shared among threads.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};
use half::f16;

const QK: usize = 32;

pub enum Kind {
    /// w = d·q + m, q in 0..16; `qs` holds 16 bytes per block (low nibbles
    /// are elements 0..16, high nibbles 16..32).
    Q4_1 { d: Vec<f32>, m: Vec<f32>, qs: Vec<u8> },
    /// w = d·q, q in −127..=127; 32 bytes per block.
    Q8_0 { d: Vec<f32>, qs: Vec<i8> },
}

pub struct FastMat {
    pub rows: usize,
    pub cols: usize,
    kind: Kind,
}

/// Whether this CPU runs the fast kernels.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ON.get_or_init(|| {
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && crate::model::cpu::forced() != Some(crate::model::cpu::Path::Generic)
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl FastMat {
    /// Split a Q4_1 or Q8_0 tensor of shape `[rows, cols]`; `None` for other formats.
    pub fn from_qtensor(q: &QTensor) -> Result<Option<FastMat>> {
        let dims = q.shape().dims();
        if dims.len() != 2 || !dims[1].is_multiple_of(QK) || !available() {
            return Ok(None);
        }
        let (rows, cols) = (dims[0], dims[1]);
        let nb = rows * cols / QK;
        let data = q.data()?;
        let kind = match q.dtype() {
            GgmlDType::Q4_1 => {
                // block: d f16, m f16, 16 bytes
                let (mut d, mut m, mut qs) = (
                    Vec::with_capacity(nb),
                    Vec::with_capacity(nb),
                    Vec::with_capacity(nb * 16),
                );
                for b in data.chunks_exact(20).take(nb) {
                    d.push(f16::from_le_bytes([b[0], b[1]]).to_f32());
                    m.push(f16::from_le_bytes([b[2], b[3]]).to_f32());
                    qs.extend_from_slice(&b[4..20]);
                }
                Kind::Q4_1 { d, m, qs }
            }
            GgmlDType::Q8_0 => {
                // block: d f16, 32 i8
                let (mut d, mut qs) = (Vec::with_capacity(nb), Vec::with_capacity(nb * 32));
                for b in data.chunks_exact(34).take(nb) {
                    d.push(f16::from_le_bytes([b[0], b[1]]).to_f32());
                    qs.extend(b[2..34].iter().map(|&x| x as i8));
                }
                Kind::Q8_0 { d, qs }
            }
            _ => return Ok(None),
        };
        Ok(Some(FastMat { rows, cols, kind }))
    }

    /// `x · Wᵀ` for f32 `x` of shape `[n, cols]` → `[n, rows]`.
    pub fn matmul_t(&self, x: &Tensor) -> Result<Tensor> {
        let (n, k) = x.dims2()?;
        if k != self.cols {
            candle_core::bail!("fast q-matmul: input has {k} columns, weight {}", self.cols);
        }
        let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let nb = k / QK;
        // Activations to int8 per block, with scale and scale·Σq.
        let mut xq = vec![0i8; n * k];
        let mut xd = vec![0f32; n * nb];
        let mut xs_sum = vec![0f32; n * nb];
        for (bi, (blk, q)) in xs.chunks_exact(QK).zip(xq.chunks_exact_mut(QK)).enumerate() {
            let amax = blk.iter().fold(0f32, |a, &v| a.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut s = 0i32;
            for (o, &v) in q.iter_mut().zip(blk) {
                let r = (v * id).round() as i32;
                *o = r as i8;
                s += r;
            }
            xd[bi] = d;
            xs_sum[bi] = d * s as f32;
        }
        let mut out = vec![0f32; n * self.rows];
        let rows_range = |r0: usize, r1: usize, local: &mut [f32]| {
            for r in r0..r1 {
                for i in 0..n {
                    let xrow = &xq[i * k..(i + 1) * k];
                    let v = self.row_dot(r, xrow, &xd[i * nb..(i + 1) * nb], &xs_sum[i * nb..(i + 1) * nb]);
                    local[i * (r1 - r0) + (r - r0)] = v;
                }
            }
        };
        let threads = pool::threads();
        if threads <= 1 || self.rows * self.cols * n < 1 << 16 {
            rows_range(0, self.rows, &mut out);
        } else {
            // Each piece is a contiguous range of weight rows.
            let pieces = threads * pool::PIECES_PER_THREAD;
            let per = self.rows.div_ceil(pieces);
            let mut parts: Vec<Vec<f32>> = (0..pieces)
                .map(|t| vec![0f32; n * (((t + 1) * per).min(self.rows).saturating_sub(t * per))])
                .collect();
            {
                let cells: Vec<std::sync::Mutex<&mut Vec<f32>>> = parts.iter_mut().map(std::sync::Mutex::new).collect();
                pool::run(pieces, &|t| {
                    let (r0, r1) = (t * per, ((t + 1) * per).min(self.rows));
                    if r0 < r1 {
                        if let Ok(mut local) = cells[t].lock() {
                            rows_range(r0, r1, &mut local);
                        }
                    }
                });
            }
            for (t, local) in parts.iter().enumerate() {
                let r0 = t * per;
                let w = local.len() / n.max(1);
                for i in 0..n {
                    out[i * self.rows + r0..i * self.rows + r0 + w].copy_from_slice(&local[i * w..(i + 1) * w]);
                }
            }
        }
        Tensor::from_vec(out, (n, self.rows), &Device::Cpu)
    }

    fn row_dot(&self, r: usize, xq: &[i8], xd: &[f32], xs_sum: &[f32]) -> f32 {
        let nb = self.cols / QK;
        match &self.kind {
            Kind::Q4_1 { d, m, qs } => {
                let (d, m) = (&d[r * nb..(r + 1) * nb], &m[r * nb..(r + 1) * nb]);
                let qs = &qs[r * nb * 16..(r + 1) * nb * 16];
                // SAFETY: `available()` checked AVX2 and FMA when the matrix was built.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    avx2::dot_q4_1(d, m, qs, xq, xd, xs_sum)
                }
                #[cfg(not(target_arch = "x86_64"))]
                {
                    let _ = (d, m, qs, xq, xd, xs_sum);
                    unreachable!("fast kernels are x86-64 only")
                }
            }
            Kind::Q8_0 { d, qs } => {
                let d = &d[r * nb..(r + 1) * nb];
                let qs = &qs[r * nb * 32..(r + 1) * nb * 32];
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    avx2::dot_q8_0(d, qs, xq, xd)
                }
                #[cfg(not(target_arch = "x86_64"))]
                {
                    let _ = (d, qs, xq, xd, xs_sum);
                    unreachable!("fast kernels are x86-64 only")
                }
            }
        }
    }

    /// The weights as f32 `[rows, cols]`, unpacked on the kernel pool.
    pub fn dequantize(&self) -> Result<Tensor> {
        let n = self.rows * self.cols;
        let mut out: Vec<f32> = Vec::with_capacity(n);
        {
            // Pieces of whole rows, so of whole blocks.
            let pieces = (pool::threads() * pool::PIECES_PER_THREAD).clamp(1, self.rows.max(1));
            let per_rows = self.rows.div_ceil(pieces);
            let cells: Vec<std::sync::Mutex<&mut [std::mem::MaybeUninit<f32>]>> = out.spare_capacity_mut()[..n]
                .chunks_mut(per_rows * self.cols)
                .map(std::sync::Mutex::new)
                .collect();
            pool::run(cells.len(), &|t| {
                if let Ok(mut dst) = cells[t].lock() {
                    self.unpack(t * per_rows * self.cols / QK, &mut dst);
                }
            });
        }
        // SAFETY: the pieces cover all n values and `unpack` wrote each one.
        unsafe { out.set_len(n) };
        Tensor::from_vec(out, (self.rows, self.cols), &Device::Cpu)
    }

    /// Write the values of the blocks from `first_block` on into `dst` (a
    /// whole number of blocks).
    fn unpack(&self, first_block: usize, dst: &mut [std::mem::MaybeUninit<f32>]) {
        for (i, o) in dst.chunks_exact_mut(QK).enumerate() {
            let b = first_block + i;
            match &self.kind {
                Kind::Q4_1 { d, m, qs } => {
                    let (d, m) = (d[b], m[b]);
                    let q = &qs[b * 16..b * 16 + 16];
                    for (j, &x) in q.iter().enumerate() {
                        o[j].write(d * (x & 0x0F) as f32 + m);
                        o[j + 16].write(d * (x >> 4) as f32 + m);
                    }
                }
                Kind::Q8_0 { d, qs } => {
                    for (o, &x) in o.iter_mut().zip(&qs[b * QK..b * QK + QK]) {
                        o.write(d[b] * x as f32);
                    }
                }
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match &self.kind {
            Kind::Q4_1 { d, m, qs } => 4 * (d.len() + m.len()) + qs.len(),
            Kind::Q8_0 { d, qs } => 4 * d.len() + qs.len(),
        }
    }
}

/// A small pool of workers for the quantized products. Decoding issues
/// hundreds of short products per token, so idle workers spin a little
/// before they sleep; but a desktop shares its cores with other programs, so
/// the work is cut into more pieces than there are threads and every thread
/// (the caller too) takes the next piece when it is free: a worker that is
/// late because its core is busy elsewhere delays nothing, and the caller
/// does the pieces itself.
pub(crate) mod pool {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, OnceLock};

    type Job = &'static (dyn Fn(usize) + Sync);

    struct Shared {
        /// The current job: its number in the high 32 bits, the next piece
        /// to take in the low 32. A late worker's claim on an old job fails.
        claim: AtomicU64,
        job: Mutex<Option<(Job, u64, usize)>>,
        done: AtomicUsize,
        threads: usize,
        sleeping: Mutex<usize>,
        wake: Condvar,
        busy: std::sync::atomic::AtomicBool,
    }

    /// Pieces per thread: small enough that a late thread costs little.
    pub const PIECES_PER_THREAD: usize = 4;

    fn shared() -> &'static Shared {
        static POOL: OnceLock<&'static Shared> = OnceLock::new();
        POOL.get_or_init(|| {
            let threads = std::env::var("RAYON_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let s: &'static Shared = Box::leak(Box::new(Shared {
                claim: AtomicU64::new(0),
                job: Mutex::new(None),
                done: AtomicUsize::new(0),
                threads,
                sleeping: Mutex::new(0),
                wake: Condvar::new(),
                busy: std::sync::atomic::AtomicBool::new(false),
            }));
            for w in 1..threads {
                std::thread::Builder::new()
                    .name(format!("dramatis-q{w}"))
                    .spawn(move || worker(s))
                    .ok();
            }
            s
        })
    }

    pub fn threads() -> usize {
        shared().threads
    }

    /// Take pieces of job `epoch` until none is left; how many were done.
    fn take_pieces(s: &Shared, f: Job, epoch: u64, pieces: usize) -> usize {
        let mut n = 0;
        let mut c = s.claim.load(Ordering::Acquire);
        loop {
            if c >> 32 != epoch || (c & 0xFFFF_FFFF) as usize >= pieces {
                return n;
            }
            match s
                .claim
                .compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    f((c & 0xFFFF_FFFF) as usize);
                    n += 1;
                    s.done.fetch_add(1, Ordering::AcqRel);
                    c = s.claim.load(Ordering::Acquire);
                }
                Err(now) => c = now,
            }
        }
    }

    fn worker(s: &'static Shared) {
        let mut seen = 0u64;
        loop {
            // Spin briefly, then give the core away, then sleep.
            let mut rounds = 0u32;
            while s.claim.load(Ordering::Acquire) >> 32 == seen {
                rounds += 1;
                if rounds < 2_000 {
                    std::hint::spin_loop();
                } else if rounds < 2_200 {
                    std::thread::yield_now();
                } else {
                    let mut n = s.sleeping.lock().unwrap_or_else(|e| e.into_inner());
                    *n += 1;
                    while s.claim.load(Ordering::Acquire) >> 32 == seen {
                        n = s.wake.wait(n).unwrap_or_else(|e| e.into_inner());
                    }
                    *n -= 1;
                }
            }
            let job = *s.job.lock().unwrap_or_else(|e| e.into_inner());
            match job {
                Some((f, epoch, pieces)) => {
                    seen = epoch;
                    take_pieces(s, f, epoch, pieces);
                }
                // The job ended before this worker looked: wait for the next.
                None => seen = s.claim.load(Ordering::Acquire) >> 32,
            }
        }
    }

    /// Run `f(0..pieces)`, spread over the pool with the calling thread
    /// taking pieces too; returns when all are done.
    pub fn run(pieces: usize, f: &(dyn Fn(usize) + Sync)) {
        let s = shared();
        // One job at a time; a nested or concurrent call runs inline.
        if s.threads <= 1 || pieces <= 1 || s.busy.swap(true, Ordering::AcqRel) {
            for t in 0..pieces {
                f(t);
            }
            return;
        }
        // SAFETY: `f` is only called for a piece claimed under this job's
        // number, and this function returns only once every piece is done;
        // a late worker's claim then fails, so it never calls `f` again.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        let epoch = ((s.claim.load(Ordering::Acquire) >> 32) + 1) & 0xFFFF_FFFF;
        s.done.store(0, Ordering::Release);
        *s.job.lock().unwrap_or_else(|e| e.into_inner()) = Some((job, epoch, pieces));
        s.claim.store(epoch << 32, Ordering::Release);
        {
            let sleeping = s.sleeping.lock().unwrap_or_else(|e| e.into_inner());
            if *sleeping > 0 {
                s.wake.notify_all();
            }
        }
        take_pieces(s, job, epoch, pieces);
        // Only pieces other threads are in the middle of are left.
        let mut rounds = 0u32;
        while s.done.load(Ordering::Acquire) < pieces {
            rounds += 1;
            if rounds < 1_000 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        *s.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
        s.busy.store(false, Ordering::Release);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q4_1(d: &[f32], m: &[f32], qs: &[u8], xq: &[i8], xd: &[f32], xs_sum: &[f32]) -> f32 {
        let nb = d.len();
        let mask = _mm_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        let mut acc = _mm256_setzero_ps();
        let mut accm = 0f32;
        for b in 0..nb {
            let raw = _mm_loadu_si128(qs.as_ptr().add(b * 16) as *const __m128i);
            let lo = _mm_and_si128(raw, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
            let q = _mm256_set_m128i(hi, lo);
            let x = _mm256_loadu_si256(xq.as_ptr().add(b * 32) as *const __m256i);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * xd[b]), _mm256_cvtepi32_ps(p), acc);
            accm += m[b] * xs_sum[b];
        }
        hsum(acc) + accm
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q8_0(d: &[f32], qs: &[i8], xq: &[i8], xd: &[f32]) -> f32 {
        let nb = d.len();
        let ones = _mm256_set1_epi16(1);
        let mut acc = _mm256_setzero_ps();
        for b in 0..nb {
            let w = _mm256_loadu_si256(qs.as_ptr().add(b * 32) as *const __m256i);
            let x = _mm256_loadu_si256(xq.as_ptr().add(b * 32) as *const __m256i);
            // maddubs wants unsigned × signed: |w| × (x·sign w).
            let aw = _mm256_sign_epi8(w, w);
            let sx = _mm256_sign_epi8(x, w);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * xd[b]), _mm256_cvtepi32_ps(p), acc);
        }
        hsum(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::ops::rel_diff as rel_err;

    #[test]
    fn kernels_match_dequantized_products() {
        if !available() {
            return;
        }
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (70, 128), &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (3, 128), &dev).unwrap();
        for ty in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let q = QTensor::quantize(&w, ty).unwrap();
            let want = x.matmul(&q.dequantize(&dev).unwrap().t().unwrap()).unwrap();
            let fast = FastMat::from_qtensor(&q).unwrap().unwrap();
            let got = fast.matmul_t(&x).unwrap();
            let deq = fast.dequantize().unwrap();
            let same = rel_err(&deq, &q.dequantize(&dev).unwrap());
            assert_eq!(same, 0.0, "{ty:?}: dequantized weights are the same");
            // The only difference is the int8 rounding of the activations.
            let e = rel_err(&got, &want);
            assert!(e < 0.02, "{ty:?}: {e}");
        }
    }

    /// A long prompt's rows go through the dequantized weights (f32
    /// activations, no int8 rounding); a few rows through the kernel.
    #[test]
    fn many_rows_use_the_dequantized_weights() {
        use crate::model::ops::{Frozen, QWeight, DENSE_ROWS};
        if !available() {
            return;
        }
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (70, 128), &dev).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q4_1).unwrap();
        let deq = q.dequantize(&dev).unwrap();
        let frozen = Frozen::Quant(std::sync::Arc::new(QWeight::Fast(
            FastMat::from_qtensor(&q).unwrap().unwrap(),
        )));
        for rows in [DENSE_ROWS - 1, DENSE_ROWS, 3 * DENSE_ROWS] {
            let x = Tensor::randn(0f32, 1.0, (rows, 128), &dev).unwrap();
            let want = x.matmul(&deq.t().unwrap()).unwrap();
            let got = frozen.matmul_t(&x).unwrap();
            let e = rel_err(&got, &want);
            if rows >= DENSE_ROWS {
                assert!(e < 1e-5, "{rows} rows: {e}");
            } else {
                assert!(e > 1e-5 && e < 0.02, "{rows} rows: {e} (the int8 kernel)");
            }
        }
    }
}
