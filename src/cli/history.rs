//! `latina history`: the experiments as a table, or streamed as JSON.

use clap::Args;
use console::{Alignment, pad_str};
use std::process::ExitCode;

use super::ui::Ui;
use crate::domain::{Knob, time};
use crate::ops::Workspace;
use crate::ops::history::{self, HistoryOptions, Since};
use crate::store::{HistoryOrder, HistoryRow, OpenMode, RatedFilter};

/// Rows the table shows when neither `--limit` nor `--all` is given.
const DEFAULT_TABLE_ROWS: u64 = 20;
/// The table never gets wider than this, whatever the terminal.
const TABLE_WIDTH: usize = 100;

/// Arguments of `latina history`.
#[derive(Debug, Args)]
// `--version` here is the prompt version; `latina --version` still works.
#[command(disable_version_flag = true)]
pub struct HistoryArgs {
    /// Only this provider arm
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Only this prompt version, e.g. 1.0.0
    #[arg(long = "version", value_name = "V")]
    pub prompt_version: Option<String>,
    /// Only experiments with a rating
    #[arg(long, conflicts_with = "unrated")]
    pub rated: bool,
    /// Only experiments without a rating (failed renders included)
    #[arg(long)]
    pub unrated: bool,
    /// Only experiments created since WHEN: 2026-11-20 (UTC), an RFC 3339 time, or 24h, 7d, 2w ago
    #[arg(long, value_name = "WHEN")]
    pub since: Option<Since>,
    /// Only experiments RATER rated (at any time; the latest rating is shown)
    #[arg(long, value_name = "RATER")]
    pub by: Option<String>,
    /// At most N rows [default: 20 in the table, all with --json]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "all")]
    pub limit: Option<u64>,
    /// Every matching row in the table
    #[arg(long)]
    pub all: bool,
    /// Oldest first instead of newest first
    #[arg(long)]
    pub oldest_first: bool,
}

/// Lists experiments: a table on stdout, or with `--json` a JSON array
/// written row by row as the database yields them.
pub fn run(ws: &Workspace, ui: &Ui, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let store = ws.open_store(OpenMode::ReadOnly)?;
    let limit = match (args.limit, args.all || ui.json) {
        (Some(n), _) => Some(n),
        (None, true) => None,
        (None, false) => Some(DEFAULT_TABLE_ROWS),
    };
    let options = HistoryOptions {
        provider: args.provider,
        prompt_version: args.prompt_version,
        rated: match (args.rated, args.unrated) {
            (true, _) => Some(RatedFilter::Rated),
            (_, true) => Some(RatedFilter::Unrated),
            _ => None,
        },
        since: args.since,
        rated_by: args.by,
        order: if args.oldest_first {
            HistoryOrder::OldestFirst
        } else {
            HistoryOrder::NewestFirst
        },
        limit,
    };
    let now = time::now();
    let query = options.query(now);
    if ui.json {
        let mut array = ui.json_array();
        history::history(&store, &query, |row| -> anyhow::Result<()> {
            array.push(&row)?;
            Ok(())
        })?;
        array.finish()?;
        return Ok(ExitCode::SUCCESS);
    }
    let this_year = time::utc(now).year();
    let mut shown = 0u64;
    history::history(&store, &query, |row| -> anyhow::Result<()> {
        if shown == 0 {
            ui.out(ui.bold(header()))?;
        }
        ui.out(table_line(ui, &row, this_year))?;
        shown += 1;
        Ok(())
    })?;
    if shown == 0 {
        ui.out("no experiments match")?;
    } else if limit == Some(shown) {
        let more = history::count(&store, &query)?.saturating_sub(shown);
        if more > 0 {
            ui.note(ui.dim(format!(
                "{more} more match; see them with --limit N or --all (--json lists all)"
            )));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Column widths, in terminal cells; the comment takes what is left of
/// [`TABLE_WIDTH`].
const COLUMNS: [(&str, usize); 9] = [
    ("id", 8),
    ("when (UTC)", 11),
    ("image", 12),
    ("provider", 8),
    ("init guid cnet", 14),
    ("prompt", 6),
    ("stars", 7),
    ("by", 6),
    ("time", 5),
];

fn comment_width() -> usize {
    TABLE_WIDTH - COLUMNS.iter().map(|(_, w)| w + 1).sum::<usize>()
}

/// `text` cut with … or padded to exactly `width` cells (colour codes not counted).
fn cell(text: &str, width: usize) -> String {
    pad_str(text, width, Alignment::Left, Some("…")).into_owned()
}

fn header() -> String {
    let mut line: String = COLUMNS
        .iter()
        .map(|(name, width)| cell(name, *width) + " ")
        .collect();
    line.push_str("comment");
    line
}

/// One row: `3f2a9c1e 11-26 21:48 coffee.jpg   tone     0.23  8.1 0.85 1.0.0  ★★★★☆×2 ana    41ms  muy plano…`
fn table_line(ui: &Ui, row: &HistoryRow, this_year: i16) -> String {
    let t = time::utc(row.created_at);
    let when = if t.year() == this_year {
        // "11-26 21:48": this year's rows need no year.
        format!(
            "{:02}-{:02} {:02}:{:02}",
            t.month(),
            t.day(),
            t.hour(),
            t.minute()
        )
    } else {
        format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
    };
    let image = row
        .image
        .as_ref()
        .map_or("-".into(), |i| super::display::printable(&i.name));
    let p = &row.params;
    // A knob the provider ignored shows as `-`: its value meant nothing.
    let ignored = |k: Knob| row.knobs.as_ref().is_some_and(|a| a.ignored.contains(&k));
    let value = |k: Knob, text: String| {
        if ignored(k) {
            format!("{:>4}", "-")
        } else {
            text
        }
    };
    let params = format!(
        "{} {} {}",
        value(Knob::InitStrength, format!("{:.2}", p.init_strength)),
        value(Knob::GuidanceScale, format!("{:>4.1}", p.guidance_scale)),
        value(
            Knob::ControlnetWeight,
            format!("{:.2}", p.controlnet_weight)
        ),
    );
    let stars = match &row.rating {
        Some(r) => {
            let count = if row.ratings_count > 1 {
                format!("×{}", row.ratings_count)
            } else {
                String::new()
            };
            cell(&format!("{}{count}", ui.stars(r.stars)), 7)
        }
        None => match row.status.as_str() {
            "failed" => ui.red(cell("failed", 7)),
            "running" => cell("running", 7),
            _ if row.guarded => ui.red(cell("guarded", 7)),
            _ if !row.shown => ui.dim(cell("unshown", 7)),
            _ => cell("-", 7),
        },
    };
    let rater = super::display::printable(
        row.rating
            .as_ref()
            .and_then(|r| r.rated_by.as_deref())
            .unwrap_or("-"),
    );
    let latency = row.latency_ms.map_or("-".to_string(), latency_text);
    let comment = row
        .rating
        .as_ref()
        .and_then(|r| r.comment.as_deref())
        .unwrap_or("")
        .replace(['\n', '\r', '\t'], " ");
    let comment = super::display::printable(&comment);
    let line = format!(
        "{} {} {} {} {} {} {} {} {} {}",
        cell(row.experiment_id.short(), 8),
        ui.dim(cell(&when, 11)),
        cell(&image, 12),
        cell(&row.provider, 8),
        cell(&params, 14),
        cell(&row.prompt_version, 6),
        stars,
        cell(&rater, 6),
        cell(&latency, 5),
        console::truncate_str(&comment, comment_width(), "…"),
    );
    line.trim_end().to_string()
}

/// `41ms`, `1.2s`, `12s`, `2.5m`: five cells at most.
fn latency_text(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..10_000 => format!("{:.1}s", ms as f64 / 1000.0),
        10_000..120_000 => format!("{}s", ms / 1000),
        _ => format!("{:.1}m", ms as f64 / 60_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_a_hundred_columns_with_room_for_a_comment() {
        let used: usize = COLUMNS.iter().map(|(_, w)| w + 1).sum();
        assert_eq!(used + comment_width(), TABLE_WIDTH);
        assert!(comment_width() >= 12, "{}", comment_width());
        assert!(console::measure_text_width(&header()) <= TABLE_WIDTH);
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_or_padded() {
        assert_eq!(cell("living_room_final.jpg", 12), "living_room…");
        assert_eq!(cell("tone", 8), "tone    ");
    }

    #[test]
    fn latencies_stay_within_five_cells() {
        for (ms, text) in [
            (41, "41ms"),
            (999, "999ms"),
            (1234, "1.2s"),
            (45_000, "45s"),
            (150_000, "2.5m"),
        ] {
            assert_eq!(latency_text(ms), text);
            assert!(text.chars().count() <= 5);
        }
    }
}
