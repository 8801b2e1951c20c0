//! Tests of [`RewardModel`] on synthetic ratings with known weights,
//! offsets and noise.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::*;
use crate::optim::reward::{RewardComparison, RewardObservation, RewardSettings};

fn input(x: [f64; 2]) -> RewardInput {
    RewardInput {
        render: vec![x[0]],
        params: vec![x[1]],
        context: None,
        extra: Vec::new(),
    }
}

/// `3 + 0.8·x₀ − 0.5·x₁ + offset + N(0, noise²)` at random `x` in [−1, 1]².
fn linear_data(
    n: usize,
    offset: f64,
    noise: f64,
    designer: Option<&str>,
    rng: &mut StdRng,
) -> Vec<RewardObservation> {
    let normal = Normal::new(0.0, noise).unwrap();
    (0..n)
        .map(|_| {
            let x = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            RewardObservation {
                input: input(x),
                stars: 3.0 + 0.8 * x[0] - 0.5 * x[1] + offset + normal.sample(rng),
                designer: designer.map(str::to_string),
            }
        })
        .collect()
}

fn linear_settings() -> RewardSettings {
    RewardSettings {
        quadratic: false,
        ..RewardSettings::default()
    }
}

#[test]
fn recovers_known_slopes_and_noise() {
    let mut rng = StdRng::seed_from_u64(1);
    let data = linear_data(400, 0.0, 0.3, None, &mut rng);
    let model = RewardModel::fit(&data, &linear_settings()).unwrap();
    let at = |x: [f64; 2]| model.predict(&input(x), None).unwrap().mean;
    // Slopes read off as differences of predictions one unit apart.
    assert!((at([0.5, 0.0]) - at([-0.5, 0.0]) - 0.8).abs() < 0.05);
    assert!((at([0.0, 0.5]) - at([0.0, -0.5]) + 0.5).abs() < 0.05);
    assert!((at([0.0, 0.0]) - 3.0).abs() < 0.05);
    assert!(
        (model.noise_sd() - 0.3).abs() < 0.03,
        "{}",
        model.noise_sd()
    );
}

#[test]
fn learns_a_peak_through_the_squares() {
    // Stars peak at x₀ = 0.2: a linear model cannot say so, the squares can.
    let mut rng = StdRng::seed_from_u64(2);
    let normal = Normal::new(0.0, 0.3).unwrap();
    let data: Vec<RewardObservation> = (0..300)
        .map(|_| {
            let x = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            RewardObservation {
                input: input(x),
                stars: 4.0 - 3.0 * (x[0] - 0.2).powi(2) + normal.sample(&mut rng),
                designer: None,
            }
        })
        .collect();
    let model = RewardModel::fit(&data, &RewardSettings::default()).unwrap();
    let at = |x0: f64| model.predict(&input([x0, 0.0]), None).unwrap().mean;
    assert!((at(0.2) - 4.0).abs() < 0.1, "{}", at(0.2));
    assert!((at(-0.8) - 1.0).abs() < 0.2, "{}", at(-0.8));
    assert!(at(0.2) > at(0.6) && at(0.2) > at(-0.2));
}

#[test]
fn a_designers_deviation_is_shrunk_toward_the_studio_with_few_ratings() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut data = linear_data(150, 0.0, 0.4, Some("a"), &mut rng);
    data.extend(linear_data(150, 0.0, 0.4, Some("b"), &mut rng));
    data.extend(linear_data(150, 1.0, 0.4, Some("generous"), &mut rng));
    data.extend(linear_data(2, 1.0, 0.4, Some("new"), &mut rng));
    let model = RewardModel::fit(&data, &linear_settings()).unwrap();
    let x = input([0.1, 0.2]);
    let studio = model.predict(&x, None).unwrap();
    let generous = model.predict(&x, Some("generous")).unwrap();
    let new = model.predict(&x, Some("new")).unwrap();
    let a = model.predict(&x, Some("a")).unwrap();
    // 150 ratings: their own +1 against the two neutral designers.
    assert!(
        (generous.mean - a.mean - 1.0).abs() < 0.15,
        "{generous:?} {a:?}"
    );
    // 2 ratings with the same +1: the deviation moves toward their data
    // but is shrunk toward the studio's prediction, and stays less sure.
    let (own, few) = (generous.mean - studio.mean, new.mean - studio.mean);
    assert!(
        few > 0.0 && few < 0.8 * own,
        "new {new:?} studio {studio:?} generous {generous:?}"
    );
    // No ratings at all: exactly the studio's prediction.
    assert_eq!(model.predict(&x, Some("unknown")).unwrap(), studio);
    assert!(new.sd > generous.sd);
    assert_eq!(model.designers(), ["a", "b", "generous", "new"]);
}

#[test]
fn eighty_percent_intervals_cover_about_eighty_percent_of_new_ratings() {
    let mut rng = StdRng::seed_from_u64(4);
    let train = linear_data(60, 0.0, 0.5, None, &mut rng);
    let model = RewardModel::fit(&train, &RewardSettings::default()).unwrap();
    let test = linear_data(4000, 0.0, 0.5, None, &mut rng);
    let inside = test
        .iter()
        .filter(|o| {
            let p = model.predict(&o.input, None).unwrap();
            (o.stars - p.mean).abs() <= 1.2816 * p.rating_sd()
        })
        .count() as f64
        / test.len() as f64;
    assert!((0.75..=0.86).contains(&inside), "coverage {inside}");
}

#[test]
fn incremental_updates_track_a_full_refit() {
    let mut rng = StdRng::seed_from_u64(5);
    let data = linear_data(200, 0.0, 0.4, Some("a"), &mut rng);
    let mut model = RewardModel::fit(&data[..40], &linear_settings()).unwrap();
    for o in &data[40..] {
        model.observe(o).unwrap();
    }
    model.refit_hyperparameters();
    assert_eq!(model.ratings(), 200);
    let full = RewardModel::fit(&data, &linear_settings()).unwrap();
    for x in [[-0.8, 0.5], [0.0, 0.0], [0.7, -0.9]] {
        let (i, f) = (
            model.predict(&input(x), Some("a")).unwrap(),
            full.predict(&input(x), Some("a")).unwrap(),
        );
        assert!((i.mean - f.mean).abs() < 0.05, "{i:?} vs {f:?}");
        assert!((i.noise_sd - f.noise_sd).abs() < 0.03);
    }
}

#[test]
fn refuses_too_few_ratings_mismatched_shapes_and_nan() {
    let mut rng = StdRng::seed_from_u64(6);
    let data = linear_data(5, 0.0, 0.4, None, &mut rng);
    let settings = RewardSettings::default();
    assert_eq!(
        RewardModel::fit(&data[..1], &settings).unwrap_err(),
        RewardError::Empty
    );
    let mut ragged = data.clone();
    ragged[3].input.render.push(1.0);
    assert!(matches!(
        RewardModel::fit(&ragged, &settings),
        Err(RewardError::Dimension {
            what: "render features",
            expected: 1,
            got: 2
        })
    ));
    let mut nan = data.clone();
    nan[2].stars = f64::NAN;
    assert_eq!(
        RewardModel::fit(&nan, &settings).unwrap_err(),
        RewardError::NotFinite
    );
    let model = RewardModel::fit(&data, &settings).unwrap();
    assert!(model.predict(&ragged[3].input, None).is_err());
}

/// A preference enters the statistics as the row `(φ(A) − φ(B))/√2` with
/// target `margin/√2`: the fitted Gram matrix and moment are those of the
/// ratings plus exactly that row, built here from the basis by hand.
#[test]
fn a_preference_is_one_scaled_difference_row() {
    let mut rng = StdRng::seed_from_u64(11);
    let data = linear_data(20, 0.0, 0.3, None, &mut rng);
    let settings = RewardSettings {
        deviation_ratios: vec![1.0],
        ..linear_settings()
    };
    let better = input([0.6, -0.2]);
    let worse = input([-0.4, 0.3]);
    let comparison = RewardComparison {
        better: better.clone(),
        worse: worse.clone(),
        tie: false,
        designer: None,
    };
    let with = RewardModel::fit_with_preferences(&data, &[comparison], &settings).unwrap();
    let without = RewardModel::fit(&data, &settings).unwrap();
    // Standardisation also saw the two compared inputs, so rebuild the
    // ratings' rows with the same basis.
    let basis = &with.basis;
    let offset = data.iter().map(|o| o.stars).sum::<f64>() / data.len() as f64;
    let mut expected = Statistics::new(basis.len());
    for o in &data {
        expected.add(&basis.row(&o.input, None), o.stars - offset);
    }
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let row = (basis.row(&better, None) - basis.row(&worse, None)) * h;
    expected.add(&row, 0.5 * h);
    assert_eq!(with.stats.n, 21);
    assert!((&with.stats.gram - &expected.gram).amax() < 1e-12);
    assert!((&with.stats.moment - &expected.moment).amax() < 1e-12);
    assert!((with.stats.yy - expected.yy).abs() < 1e-12);
    assert_eq!(without.stats.n, 20);
}

/// Ratings that say nothing about x₀ (flat in it) plus preferences that
/// always favour the larger x₀: the model learns x₀'s direction from the
/// preferences alone, and a tie between two renders pulls their
/// predictions together.
#[test]
fn preferences_teach_what_the_stars_do_not() {
    let mut rng = StdRng::seed_from_u64(12);
    let normal = Normal::new(0.0, 0.3).unwrap();
    let data: Vec<RewardObservation> = (0..30)
        .map(|_| {
            let x = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            RewardObservation {
                input: input(x),
                stars: 3.0 - 0.5 * x[1] + normal.sample(&mut rng),
                designer: None,
            }
        })
        .collect();
    let comparisons: Vec<RewardComparison> = (0..40)
        .map(|_| {
            let a = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let b = [rng.random_range(-1.0..1.0), a[1]];
            let (better, worse) = if a[0] > b[0] { (a, b) } else { (b, a) };
            RewardComparison {
                better: input(better),
                worse: input(worse),
                tie: false,
                designer: None,
            }
        })
        .collect();
    let settings = linear_settings();
    let stars_only = RewardModel::fit(&data, &settings).unwrap();
    let both = RewardModel::fit_with_preferences(&data, &comparisons, &settings).unwrap();
    let slope = |m: &RewardModel| {
        m.predict(&input([0.5, 0.0]), None).unwrap().mean
            - m.predict(&input([-0.5, 0.0]), None).unwrap().mean
    };
    assert!(slope(&stars_only).abs() < 0.2, "{}", slope(&stars_only));
    assert!(slope(&both) > 0.3, "{}", slope(&both));

    // Ties between the two extremes of x₁ pull its learnt slope toward 0.
    let ties: Vec<RewardComparison> = (0..40)
        .map(|_| RewardComparison {
            better: input([0.0, 0.9]),
            worse: input([0.0, -0.9]),
            tie: true,
            designer: None,
        })
        .collect();
    let tied = RewardModel::fit_with_preferences(&data, &ties, &settings).unwrap();
    let x1_gap = |m: &RewardModel| {
        (m.predict(&input([0.0, 0.9]), None).unwrap().mean
            - m.predict(&input([0.0, -0.9]), None).unwrap().mean)
            .abs()
    };
    assert!(x1_gap(&tied) < 0.5 * x1_gap(&stars_only));
}

#[test]
fn a_negative_margin_or_a_misshapen_comparison_is_refused() {
    let mut rng = StdRng::seed_from_u64(13);
    let data = linear_data(10, 0.0, 0.3, None, &mut rng);
    let bad_margin = RewardSettings {
        preference_margin: -1.0,
        ..linear_settings()
    };
    assert!(matches!(
        RewardModel::fit_with_preferences(&data, &[], &bad_margin),
        Err(RewardError::Settings(_))
    ));
    let misshapen = RewardComparison {
        better: RewardInput {
            render: vec![0.1, 0.2],
            ..input([0.0, 0.0])
        },
        worse: input([0.0, 0.0]),
        tie: false,
        designer: None,
    };
    assert!(matches!(
        RewardModel::fit_with_preferences(&data, &[misshapen], &linear_settings()),
        Err(RewardError::Dimension { .. })
    ));
}
