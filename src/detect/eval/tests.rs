use super::nab::sigma;
use super::*;

#[test]
fn metrics_on_a_tiny_hand_made_set() {
    // 20 rows; probation = floor(0.15 * 20) = 3. Window rows 10..=12.
    let mut scores = vec![0.1; 20];
    scores[11] = 0.9; // inside the window
    scores[12] = 0.8; // inside
    scores[15] = 0.85; // false positive, ranks between them
    let mut labels = vec![false; 20];
    labels[10..=12].iter_mut().for_each(|l| *l = true);
    let s = Series {
        name: "t.csv".into(),
        scores,
        ranking: None,
        labels,
        windows: vec![(10, 12)],
    };
    let r = evaluate(std::slice::from_ref(&s), EvalMode::Ensemble);
    let f = &r.files[0];
    // Thresholds: 0.9 -> tp1 fp0: F1 = 2/(1+0+3) = 0.5; 0.85 -> 2/(1+1+3) = 0.4;
    // 0.8 -> tp2 fp1: 4/(2+1+3) = 0.667; 0.1 -> tp3 fp14: 6/(3+14+3) = 0.3.
    assert!((f.best_f1 - 2.0 / 3.0).abs() < 1e-12, "{}", f.best_f1);
    assert_eq!(f.f1_threshold, 0.8);
    assert_eq!(f.event_recall, 1.0);
    // ROC: 3 pos, 14 neg. Pos 0.9 beats 14, 0.8 beats 13, 0.1 ties 13 (6.5) -> 33.5 / 42.
    assert!((f.roc_auc - 33.5 / 42.0).abs() < 1e-12, "{}", f.roc_auc);
    // AP: recall 1/3 at precision 1, 2/3 at 2/3, 1 at 3/17.
    let ap = 1.0 / 3.0 * 1.0 + 1.0 / 3.0 * (2.0 / 3.0) + 1.0 / 3.0 * (3.0 / 17.0);
    assert!((f.pr_auc - ap).abs() < 1e-12, "{}", f.pr_auc);
    // NAB standard: best is threshold 0.9 (TP at row 11: sigma(-2/3)), no FP.
    let n = &r.nab[0];
    let tp = sigma(-2.0 / 3.0);
    assert_eq!(n.threshold, 0.9);
    assert!(
        (n.score - 100.0 * (tp + 1.0) / 2.0).abs() < 1e-9,
        "{}",
        n.score
    );
    // The threshold sweep includes "no detections" (the null detector, 0), so a
    // constant detector never goes below 0; one that flags the window start ~99.
    let mut z = s.clone();
    z.scores = vec![0.0; 20];
    assert!(nab_score(&[z.clone()], &PROFILES[0]).score >= 0.0);
    z.scores[10] = 1.0;
    assert!(nab_score(&[z], &PROFILES[0]).score > 99.0);
}
