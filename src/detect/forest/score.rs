//! Scoring: one row, a batch through the complete trees with a [`Kernel`], or through
//! the arena when the forest is too deep to unroll; and the per-feature attribution.

use ndarray::ArrayView2;

use super::kernels::{self, Chunk, Kernel};
use super::keys::value_key;
use super::{c_factor, Arena, Complete, IsolationForest, Layout, BLOCK, CHUNK, WIDE};

impl Complete {
    /// Sum over the trees of the leaf value `row` reaches, in tree order (as every
    /// kernel sums). `S` is `self.stride`, a constant so the offset division is a shift
    /// or a multiply.
    fn path_sum<const S: usize>(&self, depth: usize, row: &[f64]) -> f64 {
        debug_assert_eq!(S, self.stride);
        // The row's value keys, computed once (not at every step: the trees' walks
        // are independent, so the time per row is the work per step, and a key takes
        // as many instructions as the rest of the step). On the stack for up to 256
        // features (the detector has 24 metrics x 4 kinds).
        let mut stack = [0u32; 256];
        let mut heap = Vec::new();
        let vk: &mut [u32] = if row.len() <= stack.len() {
            &mut stack[..row.len()]
        } else {
            heap.resize(row.len(), 0);
            &mut heap
        };
        for (k, &v) in vk.iter_mut().zip(row) {
            *k = value_key(v);
        }
        let mut sum = 0.0f64;
        for k in 0..self.n_trees() {
            let (keys, feats) = (self.keys(k), self.feats(k));
            let leaf = &self.leaf[k * self.width..(k + 1) * self.width];
            let mut i = 1usize;
            for _ in 0..depth {
                // SAFETY: after s < depth steps i < 2^(s+1) <= width = keys.len() =
                // feats.len(); feats / S < n_features == row.len() == vk.len()
                // (`validate`).
                unsafe {
                    let f = *feats.get_unchecked(i) as usize / S;
                    let v = *vk.get_unchecked(f);
                    i = 2 * i + (*keys.get_unchecked(i) < v) as usize;
                }
            }
            // SAFETY: after depth steps width <= i < 2 width.
            sum += unsafe { *leaf.get_unchecked(i - self.width) } as f64;
        }
        sum
    }
}

impl Arena {
    #[inline(always)]
    fn leaf_of(&self, depth: usize, root: u32, row: &[f64]) -> u32 {
        let mut cur = root;
        for _ in 0..depth {
            // SAFETY: `validate` (run after fit and after deserialisation) guarantees
            // every child index < nodes.len() and every feat < n_features == row.len().
            let nd = unsafe { self.nodes.get_unchecked(cur as usize) };
            // SAFETY: as above.
            let v = unsafe { *row.get_unchecked(nd.feat as usize) };
            cur = if v < nd.thr { nd.left } else { nd.right };
        }
        cur
    }
}

impl IsolationForest {
    /// Mean path length E(h(x)) over the trees.
    pub fn mean_path_length(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.n_features, "feature count mismatch");
        let sum = match &self.layout {
            Layout::Complete(c) if c.stride == WIDE => c.path_sum::<WIDE>(self.height_limit, row),
            Layout::Complete(c) => c.path_sum::<BLOCK>(self.height_limit, row),
            Layout::Arena(a) => a.roots.iter().fold(0.0f64, |s, &r| {
                s + a.nodes[a.leaf_of(self.height_limit, r, row) as usize].value as f64
            }),
        };
        sum / self.n_trees() as f64
    }

    /// Anomaly score of one row, in (0, 1]; ~0.5 or less is normal.
    pub fn score_row(&self, row: &[f64]) -> f64 {
        self.score_from_path(self.mean_path_length(row))
    }

    fn score_from_path(&self, mean_h: f64) -> f64 {
        2f64.powf(-mean_h / c_factor(self.psi))
    }

    /// [`Self::score_slice`] with a chosen kernel (benchmarks and tests compare them);
    /// forests deeper than [`super::MAX_COMPLETE_DEPTH`] always score through the arena.
    ///
    /// # Panics
    /// If the CPU cannot run `kernel` ([`Kernel::available`]) or the shapes disagree.
    pub fn score_slice_with(&self, kernel: Kernel, data: &[f64], out: &mut [f64]) {
        assert!(
            kernel.available(),
            "{kernel:?} is not supported by this CPU"
        );
        assert_eq!(
            data.len(),
            out.len() * self.n_features,
            "feature count mismatch"
        );
        match &self.layout {
            Layout::Complete(c) => self.score_slice_complete_with(kernel, c, data, out),
            Layout::Arena(_) => self.score_slice(data, out),
        }
    }

    /// Scores a standard-layout row-major slice of `out.len()` rows.
    ///
    /// Rows go in chunks of `CHUNK` (48): each tree is walked by the whole chunk, 8 or 12
    /// rows in lockstep, before the next tree, so the tree stays in L1 instead of the
    /// whole forest streaming through the cache for every row.
    #[allow(clippy::needless_range_loop)] // j walks 8 independent rows in lockstep
    pub fn score_slice(&self, data: &[f64], out: &mut [f64]) {
        let d = self.n_features;
        assert_eq!(data.len(), out.len() * d, "feature count mismatch");
        let a = match &self.layout {
            Layout::Complete(c) => return self.score_slice_complete(c, data, out),
            Layout::Arena(a) => a,
        };
        let n = out.len();
        let full = n / BLOCK * BLOCK;
        let t = a.roots.len() as f64;
        let mut acc_buf = [0.0f64; CHUNK];
        let mut cs = 0;
        while cs < full {
            let ce = (cs + CHUNK).min(full);
            let acc = &mut acc_buf[..ce - cs];
            acc.fill(0.0);
            for &root in &a.roots {
                let mut b = cs;
                while b < ce {
                    let base = &data[b * d..(b + BLOCK) * d];
                    let mut cur = [root; BLOCK];
                    for _ in 0..self.height_limit {
                        for j in 0..BLOCK {
                            // SAFETY: as in `leaf_of`; j * d + feat < BLOCK * d = base.len().
                            let nd = unsafe { a.nodes.get_unchecked(cur[j] as usize) };
                            // SAFETY: as above.
                            let v = unsafe { *base.get_unchecked(j * d + nd.feat as usize) };
                            cur[j] = if v < nd.thr { nd.left } else { nd.right };
                        }
                    }
                    for j in 0..BLOCK {
                        // SAFETY: cur[j] is a node index reached as in `leaf_of`.
                        let nd = unsafe { a.nodes.get_unchecked(cur[j] as usize) };
                        acc[b - cs + j] += nd.value as f64;
                    }
                    b += BLOCK;
                }
            }
            for (k, a) in acc.iter().enumerate() {
                out[cs + k] = self.score_from_path(a / t);
            }
            cs = ce;
        }
        for i in full..n {
            out[i] = self.score_row(&data[i * d..(i + 1) * d]);
        }
    }

    /// [`Self::score_slice`] on the complete trees: same chunking, same summation order,
    /// with the fastest [`Kernel`] this CPU has.
    fn score_slice_complete(&self, c: &Complete, data: &[f64], out: &mut [f64]) {
        self.score_slice_complete_with(Kernel::detect(), c, data, out)
    }

    fn score_slice_complete_with(
        &self,
        kernel: Kernel,
        c: &Complete,
        data: &[f64],
        out: &mut [f64],
    ) {
        let d = self.n_features;
        let n = out.len();
        // The transposed blocks have `stride` lanes, the rows the feature offsets expect.
        let lanes = c.stride;
        let full = n / lanes * lanes;
        let t = c.n_trees() as f64;
        let w = c.width;
        let mut acc_buf = [0.0f64; CHUNK];
        // The chunk's rows, transposed per block of BLOCK rows: [block][feature][lane], so
        // lane j of a block reads feature f at the constant offset f * BLOCK + j.
        // Values become `value_key`s, so a step compares integers.
        let mut tbuf = vec![0u32; CHUNK.min(full) * d];
        let mut kbuf = vec![0u32; CHUNK.min(full) * d];
        let cn = c_factor(self.psi);
        let mut cs = 0;
        while cs < full {
            let ce = (cs + CHUNK).min(full);
            let acc = &mut acc_buf[..ce - cs];
            acc.fill(0.0);
            let tb = &mut tbuf[..(ce - cs) * d];
            // Keys row by row (a contiguous loop the compiler vectorises), then a plain
            // transpose of each block.
            let kb = &mut kbuf[..(ce - cs) * d];
            for (k, &v) in kb.iter_mut().zip(&data[cs * d..ce * d]) {
                *k = value_key(v);
            }
            for (dst, src) in tb
                .chunks_exact_mut(lanes * d)
                .zip(kb.chunks_exact(lanes * d))
            {
                for (f, ls) in dst.chunks_exact_mut(lanes).enumerate() {
                    for (j, l) in ls.iter_mut().enumerate() {
                        *l = src[j * d + f];
                    }
                }
            }
            let chunk = Chunk {
                trees: &c.trees,
                leaf: &c.leaf,
                w,
                depth: self.height_limit,
                tb,
                d,
                lanes,
            };
            chunk.check(acc);
            // SAFETY: `chunk` passed `check`, feature offsets are f * lanes with f < d
            // (`validate`), and `score_slice_with` / `detect` only pass kernels that
            // `Kernel::available` accepted.
            unsafe {
                match (kernel, lanes) {
                    (Kernel::Portable, WIDE) => kernels::score_chunk_portable::<WIDE>(&chunk, acc),
                    (Kernel::Portable, _) => kernels::score_chunk_portable::<BLOCK>(&chunk, acc),
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Scalar, WIDE) => kernels::score_chunk_wide(&chunk, acc),
                    #[cfg(target_arch = "x86_64")]
                    (Kernel::Scalar, _) => kernels::score_chunk_asm(&chunk, acc),
                    #[cfg(not(target_arch = "x86_64"))]
                    (Kernel::Scalar, _) => kernels::score_chunk_portable::<BLOCK>(&chunk, acc),
                }
            }
            for (o, a) in out[cs..ce].iter_mut().zip(acc.iter()) {
                // `score_from_path` with c(psi) computed once.
                *o = 2f64.powf(-(a / t) / cn);
            }
            cs = ce;
        }
        for i in full..n {
            out[i] = self.score_row(&data[i * d..(i + 1) * d]);
        }
    }

    /// Scores every row of `x`.
    pub fn score_rows(&self, x: ArrayView2<f64>, out: &mut [f64]) {
        assert_eq!(x.ncols(), self.n_features, "feature count mismatch");
        assert_eq!(x.nrows(), out.len());
        match x.as_slice() {
            Some(s) => self.score_slice(s, out),
            None => {
                let owned = x.as_standard_layout();
                self.score_slice(owned.as_slice().expect("standard layout"), out)
            }
        }
    }

    /// Path-depth attribution: for each feature, the isolation gained by the splits on
    /// it along x's path, log2(node size / child size) bits, averaged over trees. The
    /// bits along a path add up to log2(psi / leaf size), i.e. exactly how much the
    /// path was shortened relative to a point that stays with the crowd, so a feature
    /// that isolated x early (big jump to a small child) gets most of the credit.
    /// Features merely crossed on the way (balanced splits) get little.
    ///
    /// The complete trees give the arena's figures exactly: past a leaf the walk goes on
    /// through copies of it, whose sizes are equal, so those steps add log2(1) = 0.
    pub fn attribution(&self, row: &[f64], out: &mut [f64]) {
        assert_eq!(row.len(), self.n_features);
        assert_eq!(out.len(), self.n_features);
        out.iter_mut().for_each(|o| *o = 0.0);
        match &self.layout {
            Layout::Arena(a) => {
                for &root in &a.roots {
                    let mut cur = root as usize;
                    for _ in 0..self.height_limit {
                        let nd = a.nodes[cur];
                        if nd.left as usize == cur {
                            break;
                        }
                        let next = if row[nd.feat as usize] < nd.thr {
                            nd.left
                        } else {
                            nd.right
                        } as usize;
                        let (n0, n1) = (a.sizes[cur].max(1) as f64, a.sizes[next].max(1) as f64);
                        out[nd.feat as usize] += (n0 / n1).log2();
                        cur = next;
                    }
                }
            }
            Layout::Complete(c) => {
                let w = c.width;
                for k in 0..c.n_trees() {
                    let (keys, feats) = (c.keys(k), c.feats(k));
                    let o = k * 2 * w;
                    let mut i = 1usize;
                    for _ in 0..self.height_limit {
                        let f = feats[i] as usize / c.stride;
                        let next = 2 * i + (keys[i] < value_key(row[f])) as usize;
                        let (n0, n1) = (c.size.get(o + i) as f64, c.size.get(o + next) as f64);
                        out[f] += (n0 / n1).log2();
                        i = next;
                    }
                }
            }
        }
        let t = self.n_trees() as f64;
        out.iter_mut().for_each(|o| *o /= t);
    }
}
