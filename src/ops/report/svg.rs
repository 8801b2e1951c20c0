//! Small inline-SVG chart primitives: linear scales, "nice" ticks, a string
//! writer for shapes and text, and axes with ticks and labels. No I/O, no
//! fonts or scripts: the report embeds the output as is.

use std::fmt::Write;

use super::html::escape;

/// Maps a data interval onto a pixel interval (the range may be reversed,
/// as for a y axis that grows upwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    /// Data interval `(low, high)`.
    pub domain: (f64, f64),
    /// Pixel interval the domain's ends map to.
    pub range: (f64, f64),
}

impl LinearScale {
    /// A scale; an empty domain is widened by one unit on each side so
    /// every value still maps to a finite pixel.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        let domain = if domain.1 > domain.0 {
            domain
        } else {
            (domain.0 - 1.0, domain.0 + 1.0)
        };
        LinearScale { domain, range }
    }

    /// The pixel for `value` (values outside the domain extrapolate).
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// The tick step for `span` with at most about `max_ticks` ticks: 1, 2 or
/// 5 times a power of ten (Heckbert's "nice numbers").
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span / max_ticks.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let exponent = raw.log10().floor() as i32;
    // Dividing by an exact power of ten keeps 0.1 as 0.1, not 0.10000000000000002.
    let scale = |v: f64| {
        if exponent >= 0 {
            v * 10f64.powi(exponent)
        } else {
            v / 10f64.powi(-exponent)
        }
    };
    let normalised = raw / scale(1.0);
    let nice = if normalised <= 1.0 {
        1.0
    } else if normalised <= 2.0 {
        2.0
    } else if normalised <= 5.0 {
        5.0
    } else {
        10.0
    };
    scale(nice)
}

/// Multiples of [`nice_step`] inside `[low, high]`, rounded to the step's
/// precision so labels read `0.3`, not `0.30000000000000004`.
pub fn ticks(low: f64, high: f64, max_ticks: usize) -> Vec<f64> {
    // Also catches NaN bounds.
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) {
        return vec![low];
    }
    let step = nice_step(high - low, max_ticks);
    let decimals = decimals_for(step);
    let round = |v: f64| {
        let p = 10f64.powi(decimals as i32);
        (v * p).round() / p
    };
    let first = (low / step - 1e-9).ceil() as i64;
    let last = (high / step + 1e-9).floor() as i64;
    (first..=last).map(|k| round(k as f64 * step)).collect()
}

/// Decimals needed to print multiples of `step` exactly (0 for steps ≥ 1).
pub fn decimals_for(step: f64) -> usize {
    if step >= 1.0 || step <= 0.0 {
        0
    } else {
        (-(step.log10() + 1e-9).floor()) as usize
    }
}

/// An SVG document being written.
pub struct Svg {
    buf: String,
}

/// Text alignment along x.
#[derive(Debug, Clone, Copy)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

impl Svg {
    /// An SVG of `width` × `height` pixels with an accessible title.
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        let mut buf = String::with_capacity(16 * 1024);
        let _ = write!(
            buf,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{t}"><title>{t}</title>"#,
            t = escape(title)
        );
        Svg { buf }
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        let _ = write!(
            self.buf,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }

    /// A polyline through `points` (nothing for fewer than two).
    pub fn polyline(&mut self, points: &[(f64, f64)], style: &str) {
        if points.len() < 2 {
            return;
        }
        self.buf.push_str(r#"<polyline fill="none" points=""#);
        push_points(&mut self.buf, points.iter().copied());
        let _ = write!(self.buf, r#"" {style}/>"#);
    }

    /// A filled area between `upper` and `lower`, both left to right.
    pub fn band(&mut self, upper: &[(f64, f64)], lower: &[(f64, f64)], style: &str) {
        if upper.len() < 2 || lower.len() < 2 {
            return;
        }
        self.buf.push_str(r#"<polygon points=""#);
        push_points(
            &mut self.buf,
            upper.iter().copied().chain(lower.iter().rev().copied()),
        );
        let _ = write!(self.buf, r#"" {style}/>"#);
    }

    /// A circle; `tip` becomes a hover tooltip when given.
    pub fn circle(&mut self, (cx, cy): (f64, f64), r: f64, style: &str, tip: Option<&str>) {
        let _ = write!(
            self.buf,
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r}" {style}"#
        );
        self.close_with_tip(tip, "circle");
    }

    /// A rectangle; `tip` becomes a hover tooltip when given.
    pub fn rect(&mut self, (x, y): (f64, f64), (w, h): (f64, f64), style: &str, tip: Option<&str>) {
        let _ = write!(
            self.buf,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" {style}"#,
            w = w.max(0.0),
            h = h.max(0.0)
        );
        self.close_with_tip(tip, "rect");
    }

    /// A closed path from `points`, e.g. a marker.
    pub fn polygon(&mut self, points: &[(f64, f64)], style: &str, tip: Option<&str>) {
        self.buf.push_str(r#"<polygon points=""#);
        push_points(&mut self.buf, points.iter().copied());
        let _ = write!(self.buf, r#"" {style}"#);
        self.close_with_tip(tip, "polygon");
    }

    /// Text, escaped.
    pub fn text(&mut self, (x, y): (f64, f64), anchor: Anchor, class: &str, content: &str) {
        let _ = write!(
            self.buf,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{}" class="{class}">{}</text>"#,
            anchor.as_str(),
            escape(content)
        );
    }

    /// Text rotated by -90° about its anchor point (a y-axis label).
    pub fn vertical_text(&mut self, (x, y): (f64, f64), class: &str, content: &str) {
        let _ = write!(
            self.buf,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" class="{class}" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"#,
            escape(content)
        );
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>");
        self.buf
    }

    fn close_with_tip(&mut self, tip: Option<&str>, element: &str) {
        match tip {
            Some(t) => {
                let _ = write!(self.buf, "><title>{}</title></{element}>", escape(t));
            }
            None => self.buf.push_str("/>"),
        }
    }
}

fn push_points(buf: &mut String, points: impl Iterator<Item = (f64, f64)>) {
    for (i, (x, y)) in points.enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        let _ = write!(buf, "{x:.1},{y:.1}");
    }
}

/// A plot area inside an SVG with its two scales.
#[derive(Debug, Clone, Copy)]
pub struct Plot {
    /// Left, top, right, bottom edges of the plot area in pixels.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
    /// Data x → pixel.
    pub x: LinearScale,
    /// Data y → pixel (upwards).
    pub y: LinearScale,
}

/// Axis labels and tick density for [`Plot::axes`].
pub struct AxesSpec<'a> {
    /// Under the x axis.
    pub x_label: &'a str,
    /// Beside the y axis.
    pub y_label: &'a str,
    /// Ticks along x (positions in data units).
    pub x_ticks: Vec<f64>,
    /// Ticks along y.
    pub y_ticks: Vec<f64>,
}

impl Plot {
    /// A plot area of the given edges over the given data domains.
    pub fn new(edges: (f64, f64, f64, f64), x: (f64, f64), y: (f64, f64)) -> Self {
        let (left, top, right, bottom) = edges;
        Plot {
            left,
            top,
            right,
            bottom,
            x: LinearScale::new(x, (left, right)),
            y: LinearScale::new(y, (bottom, top)),
        }
    }

    /// Data point → pixel.
    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x.map(x), self.y.map(y))
    }

    /// Grid lines, the two axes, tick marks and labels, and the axis titles.
    pub fn axes(&self, svg: &mut Svg, spec: &AxesSpec<'_>) {
        let x_decimals = decimals_for(step_of(&spec.x_ticks));
        let y_decimals = decimals_for(step_of(&spec.y_ticks));
        for &t in &spec.y_ticks {
            let y = self.y.map(t);
            svg.line((self.left, y), (self.right, y), r#"class="grid""#);
            svg.line((self.left - 4.0, y), (self.left, y), r#"class="axis""#);
            svg.text(
                (self.left - 7.0, y + 4.0),
                Anchor::End,
                "tick",
                &format!("{t:.y_decimals$}"),
            );
        }
        for &t in &spec.x_ticks {
            let x = self.x.map(t);
            svg.line((x, self.bottom), (x, self.bottom + 4.0), r#"class="axis""#);
            svg.text(
                (x, self.bottom + 17.0),
                Anchor::Middle,
                "tick",
                &format!("{t:.x_decimals$}"),
            );
        }
        svg.line(
            (self.left, self.bottom),
            (self.right, self.bottom),
            r#"class="axis""#,
        );
        svg.line(
            (self.left, self.top),
            (self.left, self.bottom),
            r#"class="axis""#,
        );
        svg.text(
            ((self.left + self.right) / 2.0, self.bottom + 36.0),
            Anchor::Middle,
            "label",
            spec.x_label,
        );
        svg.vertical_text(
            (self.left - 38.0, (self.top + self.bottom) / 2.0),
            "label",
            spec.y_label,
        );
    }
}

/// The spacing of evenly spaced ticks (1 when there are fewer than two).
fn step_of(ticks: &[f64]) -> f64 {
    match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scale_maps_ends_and_midpoints_including_reversed_ranges() {
        let s = LinearScale::new((0.0, 10.0), (50.0, 250.0));
        assert_eq!(s.map(0.0), 50.0);
        assert_eq!(s.map(2.5), 100.0);
        assert_eq!(s.map(10.0), 250.0);
        // A y axis: 1 star at the bottom (300 px), 5 at the top (20 px).
        let y = LinearScale::new((1.0, 5.0), (300.0, 20.0));
        assert_eq!(y.map(1.0), 300.0);
        assert_eq!(y.map(3.0), 160.0);
        assert_eq!(y.map(5.0), 20.0);
    }

    #[test]
    fn an_empty_domain_is_widened_instead_of_dividing_by_zero() {
        let s = LinearScale::new((3.0, 3.0), (0.0, 100.0));
        assert_eq!(s.domain, (2.0, 4.0));
        assert_eq!(s.map(3.0), 50.0);
    }

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(100.0, 5), 20.0); // raw 20
        assert_eq!(nice_step(7.0, 5), 2.0); // raw 1.4 → 2
        assert_eq!(nice_step(0.29, 5), 0.1); // raw 0.058 → 0.1
        assert_eq!(nice_step(30.0, 10), 5.0); // raw 3 → 5
        assert_eq!(nice_step(1000.0, 10), 100.0); // raw 100 → 100
    }

    #[test]
    fn ticks_for_the_parameter_ranges_and_the_star_axis() {
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(ticks(0.1, 0.5, 5), vec![0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(ticks(5.0, 12.0, 5), vec![6.0, 8.0, 10.0, 12.0]);
        assert_eq!(ticks(0.7, 0.99, 5), vec![0.7, 0.8, 0.9]);
        assert_eq!(ticks(1.0, 5.0, 4), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(ticks(1.0, 137.0, 6), vec![50.0, 100.0]);
        assert_eq!(ticks(2.0, 2.0, 5), vec![2.0]);
    }

    #[test]
    fn decimals_follow_the_step() {
        assert_eq!(decimals_for(20.0), 0);
        assert_eq!(decimals_for(0.1), 1);
        assert_eq!(decimals_for(0.05), 2);
        assert_eq!(decimals_for(0.02), 2);
    }

    #[test]
    fn text_and_tooltips_are_escaped() {
        let mut svg = Svg::new(100.0, 50.0, "a <b> & c");
        svg.text(
            (1.0, 2.0),
            Anchor::Start,
            "tick",
            "<script>alert(1)</script>",
        );
        svg.circle((1.0, 1.0), 2.0, "", Some("x\"y"));
        let out = svg.finish();
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{out}"
        );
        assert!(!out.contains("<script>"));
        assert!(out.contains("a &lt;b&gt; &amp; c"));
        assert!(out.contains("<title>x&quot;y</title></circle>"));
        assert!(out.ends_with("</svg>"));
    }

    #[test]
    fn a_band_goes_along_the_upper_edge_and_back_along_the_lower() {
        let mut svg = Svg::new(10.0, 10.0, "t");
        svg.band(&[(0.0, 1.0), (2.0, 1.5)], &[(0.0, 3.0), (2.0, 3.5)], "");
        let out = svg.finish();
        assert!(
            out.contains(r#"points="0.0,1.0 2.0,1.5 2.0,3.5 0.0,3.0""#),
            "{out}"
        );
    }
}
