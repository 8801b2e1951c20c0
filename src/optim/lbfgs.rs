//! A small box-constrained quasi-Newton minimiser (projected L-BFGS with a
//! backtracking Armijo line search), for fitting GP hyperparameters.
//!
//! Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 7.4 (two-loop
//! recursion) and §3.1 (backtracking). Bounds are handled by projecting each
//! trial point onto the box and dropping direction components that push
//! against an active bound, which is enough for the handful of smooth
//! parameters used here.

/// The result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Where it ended.
    pub x: Vec<f64>,
    /// The objective there.
    pub value: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
}

/// Minimises `f` (value and gradient; `None` means "cannot evaluate here",
/// treated as +∞) from `x0` inside `[lower, upper]`.
pub fn minimize<F>(
    mut f: F,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_iterations: usize,
) -> Option<Minimum>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    const MEMORY: usize = 6;
    let project = |x: &mut [f64]| {
        for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
            *v = v.clamp(*lo, *hi);
        }
    };
    let mut x = x0.to_vec();
    project(&mut x);
    let mut evaluations = 1;
    let (mut fx, mut g) = f(&x)?;
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new(); // (s, y, 1/yᵀs)

    for _ in 0..max_iterations {
        // Components blocked by an active bound do not move.
        let free: Vec<bool> = (0..x.len())
            .map(|i| !((x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0)))
            .collect();
        let projected_gradient: f64 = g
            .iter()
            .zip(&free)
            .map(|(gi, &fr)| if fr { gi * gi } else { 0.0 })
            .sum::<f64>()
            .sqrt();
        if projected_gradient < 1e-6 {
            break;
        }
        // Two-loop recursion on the free components.
        let mut q: Vec<f64> = g
            .iter()
            .zip(&free)
            .map(|(gi, &fr)| if fr { *gi } else { 0.0 })
            .collect();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            for (qi, yi) in q.iter_mut().zip(y) {
                *qi -= a * yi;
            }
            alphas.push(a);
        }
        if let Some((s, y, _)) = history.last() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in history.iter().zip(alphas.into_iter().rev()) {
            let b = rho * dot(y, &q);
            for (qi, si) in q.iter_mut().zip(s) {
                *qi += (a - b) * si;
            }
        }
        let mut direction: Vec<f64> = q
            .iter()
            .zip(&free)
            .map(|(v, &fr)| if fr { -v } else { 0.0 })
            .collect();
        if dot(&direction, &g) >= 0.0 {
            // Not a descent direction (curvature information went stale): steepest descent.
            history.clear();
            direction = g
                .iter()
                .zip(&free)
                .map(|(gi, &fr)| if fr { -gi } else { 0.0 })
                .collect();
        }
        // Backtracking line search on the projected path.
        let mut step = if history.is_empty() {
            (1.0 / projected_gradient).min(1.0)
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..30 {
            let mut trial: Vec<f64> = x
                .iter()
                .zip(&direction)
                .map(|(xi, di)| xi + step * di)
                .collect();
            project(&mut trial);
            evaluations += 1;
            if let Some((ft, gt)) = f(&trial) {
                let decrease: f64 = g
                    .iter()
                    .zip(&trial)
                    .zip(&x)
                    .map(|((gi, t), xi)| gi * (t - xi))
                    .sum();
                if ft.is_finite() && ft <= fx + 1e-4 * decrease {
                    accepted = Some((trial, ft, gt));
                    break;
                }
            }
            step *= 0.5;
        }
        let Some((new_x, new_f, new_g)) = accepted else {
            break;
        };
        let s: Vec<f64> = new_x.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = new_g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let improvement = fx - new_f;
        x = new_x;
        fx = new_f;
        g = new_g;
        if sy > 1e-12 {
            history.push((s, y, 1.0 / sy));
            if history.len() > MEMORY {
                history.remove(0);
            }
        }
        if improvement.abs() <= 1e-10 * (1.0 + fx.abs()) {
            break;
        }
    }
    Some(Minimum {
        x,
        value: fx,
        evaluations,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> Option<(f64, Vec<f64>)> {
        let (a, b) = (x[0], x[1]);
        let value = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let grad = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        Some((value, grad))
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = minimize(rosenbrock, &[-1.2, 1.0], &[-5.0, -5.0], &[5.0, 5.0], 500).unwrap();
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{:?}",
            m.x
        );
    }

    #[test]
    fn stops_at_an_active_bound() {
        // Minimum of (x-3)^2 + (y+1)^2 inside [0,2]x[0,2] is (2, 0).
        let f = |x: &[f64]| {
            Some((
                (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2),
                vec![2.0 * (x[0] - 3.0), 2.0 * (x[1] + 1.0)],
            ))
        };
        let m = minimize(f, &[0.5, 1.5], &[0.0, 0.0], &[2.0, 2.0], 100).unwrap();
        assert!(
            (m.x[0] - 2.0).abs() < 1e-9 && m.x[1].abs() < 1e-9,
            "{:?}",
            m.x
        );
        assert!((m.value - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unevaluable_start_returns_none() {
        assert!(minimize(|_| None, &[0.0], &[-1.0], &[1.0], 10).is_none());
    }
}
