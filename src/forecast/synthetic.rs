//! Synthetic disks with a known fill rate, for the forecast's accuracy tests and for
//! the model comparison in `examples/forecast-compare` (which includes this file by
//! path, so it depends on nothing but `rand`).

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

/// A disk of 100 units: `used(t) = start + rate t + cycle + tooth + noise`.
pub struct Synth {
    pub start: f64,
    /// Units per hour.
    pub rate: f64,
    /// Daily cycle's amplitude.
    pub cycle: f64,
    /// Rotation: the tooth climbs `tooth` units over `tooth_every` ms, then drops.
    pub tooth: f64,
    pub tooth_every: i64,
    pub noise: f64,
    pub step_ms: i64,
}

impl Synth {
    /// `history` ms of samples ending at `now`, the cycle's phase and the noise drawn
    /// from `seed`.
    pub fn points(&self, history: i64, now: i64, seed: u64) -> Vec<(i64, f64)> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let phase: f64 = rng.gen::<f64>() * std::f64::consts::TAU;
        let mut out = Vec::new();
        let mut t = now - history;
        while t <= now {
            let h = (t - (now - history)) as f64 / HOUR as f64;
            let cyc =
                self.cycle * ((t % DAY) as f64 / DAY as f64 * std::f64::consts::TAU + phase).sin();
            let tooth = if self.tooth_every > 0 {
                self.tooth * ((t % self.tooth_every) as f64 / self.tooth_every as f64)
            } else {
                0.0
            };
            // Box-Muller normal noise.
            let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            out.push((t, self.start + self.rate * h + cyc + tooth + self.noise * z));
            t += self.step_ms;
        }
        out
    }

    /// Hours until the linear part reaches 100 after `history` ms of filling.
    pub fn truth_hours(&self, history: i64) -> f64 {
        let level = self.start + self.rate * history as f64 / HOUR as f64;
        // The saw-tooth's mean sits on top of the line: the trend runs through it.
        let level = level
            + if self.tooth_every > 0 {
                self.tooth / 2.0
            } else {
                0.0
            };
        (100.0 - level) / self.rate
    }
}
