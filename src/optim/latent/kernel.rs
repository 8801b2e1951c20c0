//! The covariance of latent quality across settings, rooms and designers.
//!
//! `k((x, r, s, d), (x', r', s', d')) = k_M(x, x') · t(r, r') · t(s, s') · (1 + ρ²·[d = d'])`
//! - `k_M` the Matérn 5/2 ARD kernel over the encoded settings and the
//!   photo's measured features (provider one-hot, parameters and features
//!   all in [0, 1]);
//! - `t(a, b) = 1 − λ + λ·[a = b]` for the room and style tags (an
//!   exchangeable categorical kernel: renders of the same kind of room
//!   share more than renders of different kinds, never nothing);
//! - `ρ²` the share of a designer's own taste: each designer's quality
//!   surface is the studio's plus a deviation with `ρ²` of its variance, so
//!   what one designer taught serves the others, shrunk where tastes differ.
//!
//! Sums and products of positive semi-definite kernels are positive
//! semi-definite, so any combination of the three stays a valid covariance.

use crate::optim::kernel::Matern52;

/// Where a quality is evaluated: encoded settings and features, and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Provider one-hot, unit-scaled parameters, then the photo's features.
    pub x: Vec<f64>,
    /// The room tag, normalised (lowercase, trimmed), if any.
    pub room: Option<String>,
    /// The style tag, normalised, if any.
    pub style: Option<String>,
}

/// The studio covariance (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct StudioKernel {
    /// Over settings and features; signal variance in stars².
    pub matern: Matern52,
    /// `λ` for the room and style tags (0 ignores them).
    pub tag_weight: f64,
    /// `ρ²`: a designer's own taste as a share of the studio's variance.
    pub taste_share: f64,
}

impl StudioKernel {
    /// Covariance of the studio's quality at two points.
    pub fn studio(&self, a: &Point, b: &Point) -> f64 {
        self.matern.value(&a.x, &b.x) * self.tag(&a.room, &b.room) * self.tag(&a.style, &b.style)
    }

    /// Covariance of two designers' qualities (`None` is the studio's).
    pub fn designers(&self, a: &Point, da: Option<usize>, b: &Point, db: Option<usize>) -> f64 {
        let shared = self.studio(a, b);
        match (da, db) {
            (Some(x), Some(y)) if x == y => shared * (1.0 + self.taste_share),
            _ => shared,
        }
    }

    fn tag(&self, a: &Option<String>, b: &Option<String>) -> f64 {
        if a == b { 1.0 } else { 1.0 - self.tag_weight }
    }
}

/// A tag as the kernel compares it.
pub fn normalise_tag(tag: Option<&str>) -> Option<String> {
    tag.map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    fn point(x: f64, room: Option<&str>) -> Point {
        Point {
            x: vec![x],
            room: normalise_tag(room),
            style: None,
        }
    }

    fn kernel() -> StudioKernel {
        StudioKernel {
            matern: Matern52 {
                length_scales: vec![0.3],
                signal_variance: 1.5,
            },
            tag_weight: 0.4,
            taste_share: 0.25,
        }
    }

    #[test]
    fn tags_and_designers_scale_the_settings_kernel() {
        let k = kernel();
        let (a, b) = (point(0.2, Some("Kitchen ")), point(0.2, Some("kitchen")));
        assert!(
            (k.studio(&a, &b) - 1.5).abs() < 1e-12,
            "tags are normalised"
        );
        let c = point(0.2, Some("loft"));
        assert!((k.studio(&a, &c) - 1.5 * 0.6).abs() < 1e-12);
        assert!((k.designers(&a, Some(1), &b, Some(1)) - 1.5 * 1.25).abs() < 1e-12);
        assert!((k.designers(&a, Some(1), &b, Some(2)) - 1.5).abs() < 1e-12);
        assert!((k.designers(&a, None, &b, Some(2)) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn the_covariance_of_mixed_rooms_and_designers_is_positive_definite() {
        let k = kernel();
        let rooms = [Some("kitchen"), Some("loft"), None];
        let points: Vec<(Point, Option<usize>)> = (0..12)
            .map(|i| (point(i as f64 / 11.0, rooms[i % 3]), Some(i % 4)))
            .collect();
        let n = points.len();
        let mut m = DMatrix::zeros(n, n);
        for i in 0..n {
            for j in 0..n {
                m[(i, j)] = k.designers(&points[i].0, points[i].1, &points[j].0, points[j].1);
            }
        }
        let eigen = m.symmetric_eigenvalues();
        assert!(eigen.iter().all(|&e| e > -1e-10), "{eigen}");
    }
}
