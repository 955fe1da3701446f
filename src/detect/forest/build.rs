//! Fitting: the arena of random isolation trees, unrolled into complete trees when it
//! is shallow enough (the arena is then dropped).

use ndarray::ArrayView2;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::keys::threshold_key;
use super::{
    as_u32_mut, c_factor, Arena, Complete, DetectError, IsolationForest, IsolationForestParams,
    Layout, Node, Sizes, BLOCK, MAX_COMPLETE_DEPTH, WIDE, WIDE_DEPTH,
};
use crate::detect::narrow::above32;

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
        Ok(self.fit_arena(x)?.compact())
    }

    /// The fit as grown, in its arena (tests score it as the reference).
    pub(super) fn fit_arena(&self, x: ArrayView2<f64>) -> Result<IsolationForest, DetectError> {
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
        Ok(IsolationForest {
            n_features: d,
            psi,
            height_limit: limit,
            layout: Layout::Arena(Arena {
                roots,
                nodes: b.nodes,
                sizes: b.sizes,
            }),
        })
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
        // Thresholds are f32 (the complete trees keep 4-byte keys, `keys.rs`): the
        // nearest one, kept above `lo` so the split still separates something (when no
        // f32 lies in (lo, hi], every point goes left, as a tree would past its data).
        let mut t = thr as f32;
        if f64::from(t) <= lo {
            t = above32(lo);
        }
        thr = f64::from(t);
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

/// Rows per transposed block for a forest of this depth: the x86-64 12-row kernel's
/// at depth 8 (psi = 256, the default), else [`BLOCK`].
fn stride_for(height_limit: usize, n_features: usize) -> usize {
    if cfg!(target_arch = "x86_64")
        && height_limit == WIDE_DEPTH
        && n_features
            .checked_mul(WIDE)
            .is_some_and(|m| m <= u32::MAX as usize)
    {
        WIDE
    } else {
        BLOCK
    }
}

impl IsolationForest {
    /// The forest in complete trees when it can be unrolled (`height_limit` <=
    /// [`MAX_COMPLETE_DEPTH`], sizes that fit u16, a valid arena), the arena dropped;
    /// otherwise unchanged.
    pub(super) fn compact(self) -> IsolationForest {
        match self.build_complete() {
            Some(c) => IsolationForest {
                layout: Layout::Complete(c),
                ..self
            },
            None => self,
        }
    }

    /// Unrolls every tree into heap order: slot i at level k < limit copies the arena
    /// node reached by the same left/right choices, and the last level copies the value
    /// of the node the arena walk ends on after `height_limit` steps. Sizes are copied
    /// for every slot, the last level's included.
    fn build_complete(&self) -> Option<Complete> {
        let Layout::Arena(a) = &self.layout else {
            return None;
        };
        let l = self.height_limit;
        if l == 0
            || l > MAX_COMPLETE_DEPTH
            || self.validate().is_err()
            || a.sizes.iter().any(|&s| s > u16::MAX as u32)
            || self
                .n_features
                .checked_mul(WIDE.max(BLOCK))
                .is_none_or(|m| m > u32::MAX as usize)
        {
            return None;
        }
        let w = 1usize << l;
        let t = a.roots.len();
        let stride = stride_for(l, self.n_features);
        let mut c = Complete {
            width: w,
            stride,
            trees: vec![0; t * w],
            leaf: vec![0.0; t * w],
            size: Sizes::Wide(Vec::new()),
        };
        let mut sizes = vec![0u16; t * 2 * w];
        let tw = c.tree_words();
        // arena[i]: the arena node at heap slot i.
        let mut arena = vec![0u32; 2 * w];
        for (k, &root) in a.roots.iter().enumerate() {
            arena[1] = root;
            let tree = &mut c.trees[k * tw..(k + 1) * tw];
            let (keys, feats) = tree.split_at_mut(w / 2);
            let (keys, feats) = (as_u32_mut(keys), as_u32_mut(feats));
            for i in 1..w {
                let nd = a.nodes[arena[i] as usize];
                // A fresh fit's thresholds are f32 already; an arena read from a file
                // of session 9 is rounded to the nearest.
                keys[i] = threshold_key(nd.thr as f32);
                feats[i] = nd.feat * stride as u32;
                arena[2 * i] = nd.left;
                arena[2 * i + 1] = nd.right;
            }
            let size = &mut sizes[k * 2 * w..(k + 1) * 2 * w];
            for (s, &node) in size.iter_mut().zip(&arena).skip(1) {
                *s = a.sizes[node as usize] as u16;
            }
            for i in 0..w {
                c.leaf[k * w + i] = a.nodes[arena[w + i] as usize].value;
            }
        }
        c.size = Sizes::pack(sizes);
        Some(c)
    }

    /// A forest from the complete trees of a model file (per tree `width` thresholds and
    /// feature indices, slot 0 unused; `width` leaf values; `2 * width` sizes).
    pub(super) fn from_complete(
        n_features: usize,
        psi: usize,
        height_limit: usize,
        thr: Vec<f64>,
        feat: Vec<u32>,
        leaf: Vec<f32>,
        size: Vec<u16>,
    ) -> Result<IsolationForest, DetectError> {
        let bad = |what: &str| DetectError::Format(format!("isolation forest: {what}"));
        if height_limit == 0 || height_limit > MAX_COMPLETE_DEPTH {
            return Err(bad("height limit out of range"));
        }
        let w = 1usize << height_limit;
        let t = thr.len() / w;
        if t == 0
            || thr.len() != t * w
            || feat.len() != t * w
            || leaf.len() != t * w
            || size.len() != 2 * t * w
        {
            return Err(bad("complete trees of inconsistent lengths"));
        }
        if feat.iter().any(|&f| f as usize >= n_features)
            || n_features
                .checked_mul(WIDE.max(BLOCK))
                .is_none_or(|m| m > u32::MAX as usize)
        {
            return Err(bad("feature index out of range"));
        }
        let stride = stride_for(height_limit, n_features);
        let mut c = Complete {
            width: w,
            stride,
            trees: vec![0; t * w],
            leaf,
            size: Sizes::pack(size),
        };
        let tw = c.tree_words();
        for k in 0..t {
            let tree = &mut c.trees[k * tw..(k + 1) * tw];
            let (keys, feats) = tree.split_at_mut(w / 2);
            let (keys, feats) = (as_u32_mut(keys), as_u32_mut(feats));
            // Slot 0 is unused and stays 0, as in `build_complete`. Files written
            // before the keys were f32 carry f64 thresholds: rounded to the nearest.
            for i in 1..w {
                keys[i] = threshold_key(thr[k * w + i] as f32);
                feats[i] = feat[k * w + i] * stride as u32;
            }
        }
        Ok(IsolationForest {
            n_features,
            psi,
            height_limit,
            layout: Layout::Complete(c),
        })
    }
}
