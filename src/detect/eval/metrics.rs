//! Point-wise figures over (score, label) pairs: best F1, ROC-AUC, PR-AUC.

/// Best F1 (no point adjustment) and its threshold over the given (score, label).
pub(super) fn best_f1(pts: &[(f64, bool)]) -> (f64, f64) {
    let pos = pts.iter().filter(|p| p.1).count();
    if pos == 0 {
        return (0.0, f64::INFINITY);
    }
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best, mut thr) = (0.0, f64::INFINITY);
    let mut i = 0;
    while i < s.len() {
        let v = s[i].0;
        while i < s.len() && s[i].0 == v {
            if s[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let f1 = 2.0 * tp as f64 / (tp + fp + pos) as f64;
        if f1 > best {
            best = f1;
            thr = v;
        }
    }
    (best, thr)
}

/// ROC-AUC with tied scores counted half.
pub(super) fn roc_auc(pts: &[(f64, bool)]) -> f64 {
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = s.iter().filter(|p| p.1).count() as f64;
    let neg = s.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j].0 == s[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0; // ranks i+1..=j
        rank_sum += avg_rank * s[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Average precision (area under the step-wise PR curve), ties grouped.
pub(super) fn pr_auc(pts: &[(f64, bool)]) -> f64 {
    let pos = pts.iter().filter(|p| p.1).count() as f64;
    if pos == 0.0 {
        return f64::NAN;
    }
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut n, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < s.len() {
        let v = s[i].0;
        while i < s.len() && s[i].0 == v {
            tp += s[i].1 as u8 as f64;
            n += 1.0;
            i += 1;
        }
        let recall = tp / pos;
        ap += (recall - last_recall) * (tp / n);
        last_recall = recall;
    }
    ap
}
