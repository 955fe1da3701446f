//! Fitting: the arena of random isolation trees, and its complete-tree copy for scoring.

use ndarray::ArrayView2;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::keys::threshold_key;
use super::{
    c_factor, Complete, DetectError, IsolationForest, IsolationForestParams, Node, BLOCK,
    KF12_TREE, MAX_COMPLETE_DEPTH, WIDE, WIDE_DEPTH,
};

impl IsolationForestParams {
    fn validate(&self) -> Result<(), DetectError> {
        if self.n_trees == 0 || self.sample_size < 2 {
            return Err(DetectError::InvalidParams(
                "isolation forest needs n_trees >= 1 and sample_size >= 2".into(),
            ));
        }
        Ok(())
    }

    /// Fits on the rows of `x` (any layout). NaNs must have been imputed before.
    pub fn fit_array(&self, x: ArrayView2<f64>) -> Result<IsolationForest, DetectError> {
        self.validate()?;
        let (n, d) = x.dim();
        if n < 2 || d == 0 {
            return Err(DetectError::NotEnoughData(format!(
                "isolation forest needs >= 2 rows and >= 1 feature, got {n} x {d}"
            )));
        }
        let psi = self.sample_size.min(n);
        let limit = self
            .height_limit
            .unwrap_or_else(|| (psi as f64).log2().ceil() as usize)
            .max(1);
        let mut b = Builder {
            x,
            nodes: Vec::with_capacity(self.n_trees * 2 * psi),
            sizes: Vec::with_capacity(self.n_trees * 2 * psi),
            limit,
            varying: Vec::with_capacity(d),
        };
        let mut roots = Vec::with_capacity(self.n_trees);
        let mut idx: Vec<usize> = Vec::with_capacity(psi);
        for t in 0..self.n_trees {
            // One stream per tree, derived from the seed: trees are reproducible and
            // independent of each other's consumption (parallel training stays equal).
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                self.seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            idx.clear();
            idx.extend(sample(&mut rng, n, psi));
            roots.push(b.build(&mut idx, 0, &mut rng));
        }
        let mut f = IsolationForest {
            n_features: d,
            psi,
            height_limit: limit,
            roots,
            nodes: b.nodes,
            sizes: b.sizes,
            complete: None,
        };
        f.complete = f.build_complete();
        Ok(f)
    }
}

struct Builder<'a> {
    x: ArrayView2<'a, f64>,
    nodes: Vec<Node>,
    sizes: Vec<u32>,
    limit: usize,
    varying: Vec<usize>,
}

impl Builder<'_> {
    fn leaf(&mut self, me: u32, depth: usize, size: usize) -> u32 {
        self.nodes[me as usize] = Node {
            thr: 0.0,
            feat: 0,
            left: me,
            right: me,
            value: (depth as f64 + c_factor(size)) as f32,
        };
        me
    }

    fn range(&self, idx: &[usize], f: usize) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for &i in idx {
            let v = self.x[[i, f]];
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    }

    fn build(&mut self, idx: &mut [usize], depth: usize, rng: &mut Xoshiro256PlusPlus) -> u32 {
        let me = self.nodes.len() as u32;
        self.nodes.push(Node {
            thr: 0.0,
            feat: 0,
            left: 0,
            right: 0,
            value: 0.0,
        });
        self.sizes.push(idx.len() as u32);
        if depth >= self.limit || idx.len() <= 1 {
            return self.leaf(me, depth, idx.len());
        }
        let d = self.x.ncols();
        // The paper picks a random attribute; one that is constant on this node cannot
        // split, so fall back to a uniform pick among the attributes that vary here
        // (as scikit-learn does) instead of wasting the node.
        let mut f = rng.gen_range(0..d);
        let (mut lo, mut hi) = self.range(idx, f);
        if hi <= lo {
            self.varying.clear();
            for g in 0..d {
                let (l, h) = self.range(idx, g);
                if h > l {
                    self.varying.push(g);
                }
            }
            if self.varying.is_empty() {
                return self.leaf(me, depth, idx.len());
            }
            f = self.varying[rng.gen_range(0..self.varying.len())];
            (lo, hi) = self.range(idx, f);
        }
        let u: f64 = rng.gen();
        let mut thr = lo + u * (hi - lo);
        if thr <= lo {
            // u == 0 would put every point right; split mid-way instead.
            thr = lo + 0.5 * (hi - lo);
        }
        // Partition: values < thr first.
        let mut split = 0;
        for k in 0..idx.len() {
            if self.x[[idx[k], f]] < thr {
                idx.swap(k, split);
                split += 1;
            }
        }
        let (l, r) = idx.split_at_mut(split);
        let left = self.build(l, depth + 1, rng);
        let right = self.build(r, depth + 1, rng);
        self.nodes[me as usize] = Node {
            thr,
            feat: f as u32,
            left,
            right,
            value: 0.0,
        };
        me
    }
}

impl IsolationForest {
    /// Unrolls every tree into heap order: slot i at level k < limit copies the arena
    /// node reached by the same left/right choices, and the last level copies the value
    /// of the node the arena walk ends on after `height_limit` steps.
    pub(super) fn build_complete(&self) -> Option<Complete> {
        let l = self.height_limit;
        if l == 0
            || l > MAX_COMPLETE_DEPTH
            || self.validate().is_err()
            || self
                .n_features
                .checked_mul(BLOCK)
                .is_none_or(|m| m > u32::MAX as usize)
        {
            return None;
        }
        let w = 1usize << l;
        let t = self.roots.len();
        let mut c = Complete {
            width: w,
            thr: vec![0.0; t * w],
            key: vec![0; t * w],
            feat: vec![0; t * w],
            leaf: vec![0.0; t * w],
            kf12: Vec::new(),
        };
        // arena[i]: the arena node at heap slot i.
        let mut arena = vec![0u32; 2 * w];
        for (k, &root) in self.roots.iter().enumerate() {
            arena[1] = root;
            for i in 1..w {
                let nd = self.nodes[arena[i] as usize];
                c.thr[k * w + i] = nd.thr;
                c.key[k * w + i] = threshold_key(nd.thr);
                c.feat[k * w + i] = nd.feat * BLOCK as u32;
                arena[2 * i] = nd.left;
                arena[2 * i + 1] = nd.right;
            }
            for i in 0..w {
                c.leaf[k * w + i] = self.nodes[arena[w + i] as usize].value as f64;
            }
        }
        if cfg!(target_arch = "x86_64")
            && l == WIDE_DEPTH
            && self
                .n_features
                .checked_mul(WIDE)
                .is_some_and(|m| m <= u32::MAX as usize)
        {
            c.kf12 = vec![0; t * KF12_TREE];
            for k in 0..t {
                let tree = &mut c.kf12[k * KF12_TREE..(k + 1) * KF12_TREE];
                for i in 1..w {
                    tree[i] = c.key[k * w + i];
                    let f = (c.feat[k * w + i] / BLOCK as u32 * WIDE as u32) as u64;
                    tree[w + i / 2] |= f << (32 * (i % 2));
                }
            }
        }
        Some(c)
    }
}
