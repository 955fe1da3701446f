//! The report as `lookout eval` prints it.

use std::fmt;

use super::{EvalMode, EvalReport, Protocol};

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            EvalMode::Ensemble => "ensemble (baseline + forest + PCA, calibrated)",
            EvalMode::PlainForest => "plain Isolation Forest over raw values",
        };
        writeln!(f, "detector: {mode}")?;
        if self.protocol == Protocol::Nab {
            writeln!(
                f,
                "protocol: nab (probationary rows as --train, the rest streamed, one dense rank over all series)"
            )?;
        }
        writeln!(
            f,
            "{:<48} {:>6} {:>4} {:>7} {:>7} {:>7} {:>7}",
            "file", "rows", "win", "bestF1", "evRec", "ROC", "PR"
        )?;
        for r in &self.files {
            writeln!(
                f,
                "{:<48} {:>6} {:>4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                r.file, r.rows, r.windows, r.best_f1, r.event_recall, r.roc_auc, r.pr_auc
            )?;
        }
        writeln!(
            f,
            "{:<48} {:>6} {:>4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
            "MEAN (event recall pooled)",
            self.files.iter().map(|r| r.rows).sum::<usize>(),
            self.files.iter().map(|r| r.windows).sum::<usize>(),
            self.mean_f1,
            self.event_recall,
            self.mean_roc_auc,
            self.mean_pr_auc
        )?;
        for (n, o) in self.nab.iter().zip(&self.nab_onsets) {
            writeln!(
                f,
                "NAB {:<14} raw scores {:>7.2} (thr {:.6})   onsets {:>7.2} (thr {:.6})",
                n.profile, n.score, n.threshold, o.score, o.threshold
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
